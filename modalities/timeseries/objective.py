"""TimeGAN's three training phases as one objective (Yoon et al. 2019, `timegan.py`).

G steps `[0, embedding_steps)`: embedding (E and R as an autoencoder). The next
`supervised_steps`: the supervisor learns the one-step-ahead latent dynamics. Then joint
training: per loop step one D update (skipped while D's loss is at most 0.15, as TimeGAN
does) and two rounds of (G + S update, E + R update). TimeGAN uses one Adam per loss: the
objective declares three ("embedder_recovery", "generator_supervisor", "discriminator"), which
the loop creates, checkpoints and restores.

DDP: the phases call sub-networks directly, which DDP's hooks never see; `sync_manually` makes
every update average its gradients over the workers, so multi-worker training stays in sync.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, ClassVar, Literal

import torch
import torch.nn.functional as F

from ganforge.modalities.timeseries.config import SeriesModel
from ganforge.modalities.timeseries.nets import TimeGanDiscriminator, TimeGanGenerator
from ganforge.platform.gan import GanNets, Objective, OptimizerSpec
from ganforge.platform.gan.batch import Batch, samples_of
from ganforge.platform.gan.objective import frozen, worker_mean

if TYPE_CHECKING:
    from ganforge.platform.config.schema import JobConfig

Tensor = torch.Tensor
Phase = Literal["embedding", "supervised", "joint"]
G_UPDATES = 2  # TimeGAN trains G and E twice per D update
D_LOSS_FLOOR = 0.15  # TimeGAN skips the D update while D's loss is below this


def _bce(logits: Tensor, target: float) -> Tensor:
    return F.binary_cross_entropy_with_logits(logits, torch.full_like(logits, target))


def in_one_pass(net: torch.nn.Module, *batches: Tensor) -> tuple[Tensor, ...]:
    """`net` on each of `batches`, computed as one call on their concatenation. A GRU treats its
    rows independently, and on a CPU its cost is per call (hundreds of small ops per time step
    and layer) far more than per row: the joint step makes 18 GRU calls instead of 26."""
    return net(torch.cat(batches)).split([len(batch) for batch in batches])


def moment_loss(fake: Tensor, real: Tensor) -> Tensor:
    """TimeGAN's V: mean |std difference| + mean |mean difference| over the batch axis."""
    std = (
        torch.sqrt(fake.var(0, unbiased=False) + 1e-6) - torch.sqrt(real.var(0, unbiased=False) + 1e-6)
    ).abs()
    return std.mean() + (fake.mean(0) - real.mean(0)).abs().mean()


def covariance_loss(fake: Tensor, real: Tensor) -> Tensor:
    """Root-mean-square difference of the two batches' covariance matrices of flattened windows
    ((T * D) x (T * D)): cross-feature and cross-step dependence, which `moment_loss` ignores."""
    fake_cov, real_cov = torch.cov(fake.flatten(1).T), torch.cov(real.flatten(1).T)
    return torch.sqrt(((fake_cov - real_cov) ** 2).mean() + 1e-12)


class TimeGanObjective(Objective):
    """Embedding, supervised and joint phases; see the module docstring."""

    name: ClassVar[str] = "timegan"
    # TimeGAN's losses are its own fixed BCE / MSE terms: gan.loss, the penalties and bf16 do not apply.
    supports: ClassVar[frozenset[str]] = frozenset({"g_opt", "d_opt", "grad_clip"})
    sync_manually: ClassVar[bool] = True

    @classmethod
    def optimizer_specs(cls, job: JobConfig, nets: GanNets) -> dict[str, OptimizerSpec]:
        gan, g = job.gan, nets.g_module
        if not isinstance(g, TimeGanGenerator):
            raise TypeError(f"the timegan objective trains a TimeGanGenerator, not {type(g).__name__}")
        return {
            "embedder_recovery": OptimizerSpec(
                (*g.embedder.parameters(), *g.recovery.parameters()), gan.g_opt, gan.grad_clip
            ),
            "generator_supervisor": OptimizerSpec(
                (*g.generator.parameters(), *g.supervisor.parameters()), gan.g_opt, gan.grad_clip
            ),
            "discriminator": OptimizerSpec(tuple(nets.d_module.parameters()), gan.d_opt, gan.grad_clip),
        }

    @property
    def model(self) -> SeriesModel:
        return self.job.model  # type: ignore[return-value]

    @property
    def g(self) -> TimeGanGenerator:
        return self.nets.g_module  # type: ignore[return-value]

    @property
    def d(self) -> TimeGanDiscriminator:
        return self.nets.d_module  # type: ignore[return-value]

    def phase(self) -> Phase:
        """The phase of the current step (set by `start_step`; nothing else to checkpoint)."""
        if self.step_index < self.model.embedding_steps:
            return "embedding"
        if self.step_index < self.model.embedding_steps + self.model.supervised_steps:
            return "supervised"
        return "joint"

    def _fake_latents(self, z: Tensor) -> tuple[Tensor, Tensor]:
        e_hat = self.g.generator(self.g.noise(z))
        return e_hat, self.g.supervisor(e_hat)

    def _supervised_loss(self, h: Tensor, h_next: Tensor | None = None) -> Tensor:
        """S's one-step-ahead error on embedded reals `h`; `h_next` is S(h) where already computed."""
        h_next = self.g.supervisor(h) if h_next is None else h_next
        return F.mse_loss(h_next[:, :-1], h[:, 1:])

    def discriminator_step(self, real: Batch, z: Tensor, d_step_index: int) -> dict[str, Tensor]:
        if self.phase() != "joint":
            return {}
        x = samples_of(real)
        with torch.no_grad():
            h = self.g.embedder(x)
            e_hat, h_hat = self._fake_latents(z)
        y_real, y_fake, y_fake_e = in_one_pass(self.d, h, h_hat, e_hat)
        loss = _bce(y_real, 1.0) + _bce(y_fake, 0.0) + self.model.gamma * _bce(y_fake_e, 0.0)
        stats = {"loss_d": loss.detach(), "d_real": y_real.detach().mean(), "d_fake": y_fake.detach().mean()}
        # TimeGAN: train D only while it is not already winning (decided on the workers' mean loss,
        # so that all of them join the same gradient all-reduce).
        if worker_mean(loss.detach()) > D_LOSS_FLOOR:
            stats["grad_norm_d"] = self.update("discriminator", loss)
        return stats

    def generator_step(self, z: Tensor, real: Batch) -> dict[str, Tensor]:
        x = samples_of(real)
        phase = self.phase()
        if phase == "embedding":
            recon = F.mse_loss(self.g.recovery(self.g.embedder(x)), x)
            norm = self.update("embedder_recovery", 10 * torch.sqrt(recon))
            return {"loss_recon": recon.detach(), "grad_norm_g": norm}
        if phase == "supervised":
            with torch.no_grad():
                h = self.g.embedder(x)
            sup = self._supervised_loss(h)
            return {"loss_supervised": sup.detach(), "grad_norm_g": self.update("generator_supervisor", sup)}
        stats: dict[str, Tensor] = {}
        for _ in range(G_UPDATES):
            stats = self._joint_generator(x, z)
            z = torch.rand_like(z)  # a fresh draw for the second round, as TimeGAN's loop does
        return stats

    def _joint_generator(self, x: Tensor, z: Tensor) -> dict[str, Tensor]:
        # E is not changed by the G + S update, so one pass of it serves both updates. Each update
        # freezes the networks it does not train (D, R; then S): same gradients, less backward.
        h = self.g.embedder(x)
        with frozen(self.d, self.g.recovery):
            e_hat = self.g.generator(self.g.noise(z))
            h_hat, s_of_h = in_one_pass(self.g.supervisor, e_hat, h.detach())
            x_hat = self.g.recovery(h_hat)
            y_fake, y_fake_e = in_one_pass(self.d, h_hat, e_hat)
            adversarial = _bce(y_fake, 1.0) + self.model.gamma * _bce(y_fake_e, 1.0)
            sup = self._supervised_loss(h.detach(), s_of_h)
            moments = moment_loss(x_hat, x)
            loss_g = adversarial + 100 * torch.sqrt(sup) + self.model.moment_weight * moments
            if self.model.covariance_weight:
                covariance = covariance_loss(x_hat, x)
                loss_g = loss_g + self.model.covariance_weight * covariance
                extra = {"loss_covariance": covariance.detach()}
            else:
                extra = {}
            norm = self.update("generator_supervisor", loss_g)
        with frozen(self.g.supervisor):
            recon = F.mse_loss(self.g.recovery(h), x)
            loss_e = 10 * torch.sqrt(recon) + 0.1 * self._supervised_loss(h)
            self.update("embedder_recovery", loss_e)
        return {"loss_g": loss_g.detach(), "loss_moments": moments.detach(), "loss_supervised": sup.detach(),
                "loss_recon": recon.detach(), "grad_norm_g": norm, **extra}  # fmt: skip
