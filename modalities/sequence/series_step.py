"""TimeGAN's three training phases as one step object (Yoon et al. 2019, `timegan.py`).

G steps `[0, pretrain_steps)`: embedding (E and R as an autoencoder). The next
`supervised_steps`: the supervisor learns the one-step-ahead latent dynamics. Then joint
training: per loop step one D update (skipped while D's loss is at most 0.15, as TimeGAN
does) and two rounds of (G + S update, E + R update). Each pair has its own Adam with the
settings of `gan.g_opt` (TimeGAN uses one optimizer per loss); they travel in `state_dict`.

DDP: the phases call sub-networks directly, which DDP's hooks never see; gradients are
averaged by the step itself (`sync_grads`), so multi-worker training stays in sync.
"""

from __future__ import annotations

from typing import Any

import torch
import torch.nn.functional as F

from ganforge.modalities.sequence.series_nets import TimeGanDiscriminator, TimeGanGenerator
from ganforge.modalities.sequence.token_step import clip, sync_grads, worker_mean
from ganforge.platform.gan import AdversarialStep, GanNets
from ganforge.platform.gan.batch import Batch, samples_of

Tensor = torch.Tensor
G_UPDATES = 2  # TimeGAN trains G and E twice per D update
D_LOSS_FLOOR = 0.15  # TimeGAN skips the D update while D's loss is below this


def _bce(logits: Tensor, target: float) -> Tensor:
    return F.binary_cross_entropy_with_logits(logits, torch.full_like(logits, target))


def moment_loss(fake: Tensor, real: Tensor) -> Tensor:
    """TimeGAN's V: mean |std difference| + mean |mean difference| over the batch axis."""
    std = (
        torch.sqrt(fake.var(0, unbiased=False) + 1e-6) - torch.sqrt(real.var(0, unbiased=False) + 1e-6)
    ).abs()
    return std.mean() + (fake.mean(0) - real.mean(0)).abs().mean()


class TimeGanStep(AdversarialStep):
    """Embedding, supervised and joint phases; see the module docstring."""

    def __init__(self, job: Any, nets: GanNets, opt_g: torch.optim.Optimizer, opt_d: torch.optim.Optimizer,
                 device: torch.device) -> None:  # fmt: skip
        super().__init__(job.gan, nets, opt_g, opt_d, device)
        self.model = job.model
        g: TimeGanGenerator = nets.g_module  # type: ignore[assignment]
        settings = {"lr": job.gan.g_opt.lr, "betas": job.gan.g_opt.betas}
        self.opt_er = torch.optim.Adam([*g.embedder.parameters(), *g.recovery.parameters()], **settings)
        self.opt_gs = torch.optim.Adam([*g.generator.parameters(), *g.supervisor.parameters()], **settings)
        self.step_index = 0

    @property
    def g(self) -> TimeGanGenerator:
        return self.nets.g_module  # type: ignore[return-value]

    @property
    def d(self) -> TimeGanDiscriminator:
        return self.nets.d_module  # type: ignore[return-value]

    def phase(self) -> str:
        if self.step_index < self.model.pretrain_steps:
            return "embedding"
        if self.step_index < self.model.pretrain_steps + self.model.supervised_steps:
            return "supervised"
        return "joint"

    def start_step(self, step: int) -> None:
        self.step_index = step

    def state_dict(self) -> dict[str, Any]:
        return {"opt_er": self.opt_er.state_dict(), "opt_gs": self.opt_gs.state_dict()}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        if "opt_er" in state:
            self.opt_er.load_state_dict(state["opt_er"])
            self.opt_gs.load_state_dict(state["opt_gs"])

    def _update(self, opt: torch.optim.Optimizer, loss: Tensor, module: torch.nn.Module) -> Tensor:
        opt.zero_grad(set_to_none=True)
        loss.backward()
        sync_grads(module)
        norm = clip(module, self.cfg.grad_clip)
        opt.step()
        return norm

    def _fake_latents(self, z: Tensor) -> tuple[Tensor, Tensor]:
        e_hat = self.g.generator(self.g.noise(z))
        return e_hat, self.g.supervisor(e_hat)

    def _supervised_loss(self, h: Tensor) -> Tensor:
        return F.mse_loss(self.g.supervisor(h)[:, :-1], h[:, 1:])

    def discriminator_step(self, real: Batch, z: Tensor, d_step_index: int) -> dict[str, Tensor]:
        if self.phase() != "joint":
            return {}
        x = samples_of(real)
        with torch.no_grad():
            h = self.g.embedder(x)
            e_hat, h_hat = self._fake_latents(z)
        y_real, y_fake, y_fake_e = self.d(h), self.d(h_hat), self.d(e_hat)
        loss = _bce(y_real, 1.0) + _bce(y_fake, 0.0) + self.model.gamma * _bce(y_fake_e, 0.0)
        stats = {"loss_d": loss.detach(), "d_real": y_real.detach().mean(), "d_fake": y_fake.detach().mean()}
        # TimeGAN: train D only while it is not already winning (decided on the workers' mean loss,
        # so that all of them join the same gradient all-reduce).
        if worker_mean(loss) > D_LOSS_FLOOR:
            stats["grad_norm_d"] = self._update(self.opt_d, loss, self.d)
        return stats

    def generator_step(self, z: Tensor, real: Batch | None = None) -> dict[str, Tensor]:
        assert real is not None, "TimeGAN needs the real batch"
        x = samples_of(real)
        phase = self.phase()
        if phase == "embedding":
            recon = F.mse_loss(self.g.recovery(self.g.embedder(x)), x)
            norm = self._update(self.opt_er, 10 * torch.sqrt(recon), self.g)
            return {"loss_recon": recon.detach(), "grad_norm_g": norm}
        if phase == "supervised":
            with torch.no_grad():
                h = self.g.embedder(x)
            sup = self._supervised_loss(h)
            return {"loss_supervised": sup.detach(), "grad_norm_g": self._update(self.opt_gs, sup, self.g)}
        stats: dict[str, Tensor] = {}
        for _ in range(G_UPDATES):
            stats = self._joint_generator(x, z)
            z = torch.rand_like(z)  # a fresh draw for the second round, as TimeGAN's loop does
        return stats

    def _joint_generator(self, x: Tensor, z: Tensor) -> dict[str, Tensor]:
        self.d.requires_grad_(False)
        try:
            e_hat, h_hat = self._fake_latents(z)
            x_hat = self.g.recovery(h_hat)
            with torch.no_grad():
                h = self.g.embedder(x)
            adversarial = _bce(self.d(h_hat), 1.0) + self.model.gamma * _bce(self.d(e_hat), 1.0)
            sup = self._supervised_loss(h)
            moments = moment_loss(x_hat, x)
            loss_g = adversarial + 100 * torch.sqrt(sup) + self.model.moment_weight * moments
            norm = self._update(self.opt_gs, loss_g, self.g)
        finally:
            self.d.requires_grad_(True)
        h = self.g.embedder(x)
        recon = F.mse_loss(self.g.recovery(h), x)
        loss_e = 10 * torch.sqrt(recon) + 0.1 * self._supervised_loss(h)
        self._update(self.opt_er, loss_e, self.g)
        return {"loss_g": loss_g.detach(), "loss_moments": moments.detach(), "loss_supervised": sup.detach(),
                "loss_recon": recon.detach(), "grad_norm_g": norm}  # fmt: skip
