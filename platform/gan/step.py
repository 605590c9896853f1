"""The standard adversarial objective: one D step and one G step, the heart of most jobs.

DDP notes (see DESIGN.md, "Data-parallel GANs"). G and D are wrapped separately, and each
wrapped network is only called through its DDP wrapper in the step that trains it: the D step
runs G unwrapped under no_grad, and the G step runs D unwrapped with its parameters frozen. So
every DDP forward is followed by a backward that reaches all of that network's parameters, and
no step has parameters without gradients: `find_unused_parameters` is never needed. D is wrapped
with `broadcast_buffers=False` because it runs two forwards (real, fake) before one backward; a
buffer broadcast in the second forward would overwrite BatchNorm statistics the first forward's
graph still needs. Each rank then keeps its own running statistics (and spectral-norm power
iteration vectors); D is never run in eval mode, and the weights themselves stay in sync because
DDP averages the gradients. On GPUs, BatchNorm layers can be turned into SyncBatchNorm instead.

With gan.ada on, every input of D (reals and fakes, in both steps) first passes through the
modality's augment ops at the adaptive probability p (platform/gan/ada.py); the penalties are
taken at the augmented samples, the points D is trained on.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, ClassVar

import torch

from ganforge.platform.gan.ada import AdaptiveAugment
from ganforge.platform.gan.batch import Batch, detach, discriminate, labels_of, samples_of, with_labels
from ganforge.platform.gan.losses import discriminator_loss, generator_loss
from ganforge.platform.gan.objective import GanNets, Objective, OptimizerSpec, frozen, gan_optimizer_specs
from ganforge.platform.gan.penalties import gradient_penalty, r1_penalty

if TYPE_CHECKING:  # the config package imports the modality registry, which imports this
    from ganforge.platform.config.schema import JobConfig

Tensor = torch.Tensor


class AdversarialObjective(Objective):
    """Runs D and G updates as the GanConfig says: any loss, both penalties, bf16, clipping, ADA."""

    name: ClassVar[str] = "adversarial"
    supports: ClassVar[frozenset[str]] = frozenset(
        {
            "loss",
            "gradient_penalty",
            "r1_gamma",
            "r1_every",
            "g_opt",
            "d_opt",
            "grad_clip",
            "precision",
            "ada",
        }
    )

    def setup(self) -> None:
        ada = self.cfg.ada
        self.ada = AdaptiveAugment(ada, self.augment_ops, self.device) if ada.enabled else None

    def _d_input(self, batch: Batch) -> Batch:
        """What D sees of a batch: augmented at ADA's current p when gan.ada is on."""
        return self.ada(batch) if self.ada is not None else batch

    def state_dict(self) -> dict[str, Any]:
        return {"ada": self.ada.state_dict()} if self.ada is not None else {}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        if self.ada is not None and "ada" in state:  # a checkpoint from before ADA was on: p starts at 0
            self.ada.load_state_dict(state["ada"])

    @classmethod
    def optimizer_specs(cls, job: JobConfig, nets: GanNets) -> dict[str, OptimizerSpec]:
        return gan_optimizer_specs(job, nets)

    def discriminator_step(self, real: Batch, z: Tensor, d_step_index: int) -> dict[str, Tensor]:
        """One D update on a real batch and fakes from latents `z`."""
        cfg, nets = self.cfg, self.nets
        with self.autocast():
            with torch.no_grad():
                fake = detach(nets.g_module(z))
            real, fake = self._d_input(real), self._d_input(fake)
            d_real = discriminate(nets.discriminator, real)
            d_fake = discriminate(nets.discriminator, fake)
            loss = discriminator_loss(cfg.loss, d_real, d_fake)
            stats = {"loss_d": loss.detach()}
            if cfg.gradient_penalty > 0:
                # Interpolates share the real labels (as in conditional WGAN-GP implementations).
                critic = with_labels(nets.discriminator, labels_of(real))
                penalty = gradient_penalty(critic, samples_of(real), samples_of(fake))
                loss = loss + cfg.gradient_penalty * penalty
                stats["gradient_penalty"] = penalty.detach()
            if cfg.r1_gamma > 0 and d_step_index % cfg.r1_every == 0:
                critic = with_labels(nets.discriminator, labels_of(real))
                penalty = r1_penalty(critic, samples_of(real))
                # Lazy regularisation: applied every k steps, so weighted by k (StyleGAN2).
                loss = loss + 0.5 * cfg.r1_gamma * cfg.r1_every * penalty
                stats["r1_penalty"] = penalty.detach()
        stats["grad_norm_d"] = self.update("discriminator", loss)
        stats["d_real"] = d_real.detach().float().mean()
        stats["d_fake"] = d_fake.detach().float().mean()
        if self.ada is not None:
            self.ada.observe(d_real, len(samples_of(real)))
            stats.update(self.ada.stats())
        return stats

    def generator_step(self, z: Tensor, real: Batch) -> dict[str, Tensor]:
        """One G update through a frozen, unwrapped D (`real` is not used by this objective)."""
        cfg, nets = self.cfg, self.nets
        with frozen(nets.d_module):
            with self.autocast():
                loss = generator_loss(cfg.loss, discriminate(nets.d_module, self._d_input(nets.generator(z))))
            grad_norm = self.update("generator", loss)
        return {"loss_g": loss.detach(), "grad_norm_g": grad_norm}
