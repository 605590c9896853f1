"""One discriminator step and one generator step: the modality-agnostic heart of every job.

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
"""

from __future__ import annotations

from contextlib import AbstractContextManager, nullcontext
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import torch
from torch import nn

from ganforge.platform.gan.batch import Batch, detach, discriminate, labels_of, samples_of, with_labels
from ganforge.platform.gan.losses import discriminator_loss, generator_loss
from ganforge.platform.gan.penalties import gradient_penalty, r1_penalty

if TYPE_CHECKING:  # the config package imports the modality registry, which imports this
    from ganforge.platform.config.schema import GanConfig

Tensor = torch.Tensor


@dataclass
class GanNets:
    """The networks of one worker: the trained ones (maybe DDP-wrapped) and their modules."""

    generator: nn.Module
    discriminator: nn.Module
    g_module: nn.Module
    d_module: nn.Module


def _grad_norm(module: nn.Module, clip: float | None) -> Tensor:
    params = [p for p in module.parameters() if p.grad is not None]
    max_norm = clip if clip is not None else float("inf")
    return torch.nn.utils.clip_grad_norm_(params, max_norm)


class AdversarialStep:
    """Runs D and G updates as the GanConfig says. Returned stats are tensors (no host sync).

    A modality whose objective differs (MLE pre-training, policy gradients, extra networks)
    subclasses this and returns it from `Modality.make_step`; the loop stays the same. Extra
    state a subclass keeps (schedules, extra optimizers) goes through `state_dict` so that
    checkpoints and resumes cover it.
    """

    def __init__(
        self,
        cfg: GanConfig,
        nets: GanNets,
        opt_g: torch.optim.Optimizer,
        opt_d: torch.optim.Optimizer,
        device: torch.device,
    ) -> None:
        self.cfg = cfg
        self.nets = nets
        self.opt_g = opt_g
        self.opt_d = opt_d
        self.device = device

    def _autocast(self) -> AbstractContextManager:
        if self.cfg.precision == "bf16":
            return torch.autocast(device_type=self.device.type, dtype=torch.bfloat16)
        return nullcontext()

    def start_step(self, step: int) -> None:
        """Called before the D steps of G step `step` (0-based): a hook for schedules."""

    def state_dict(self) -> dict[str, Any]:
        """Extra state of a subclass, saved in checkpoints."""
        return {}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        """Restores what `state_dict` returned."""

    def discriminator_step(self, real: Batch, z: Tensor, d_step_index: int) -> dict[str, Tensor]:
        """One D update on a real batch and fakes from latents `z`."""
        cfg, nets = self.cfg, self.nets
        with self._autocast():
            with torch.no_grad():
                fake = detach(nets.g_module(z))
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
        self.opt_d.zero_grad(set_to_none=True)
        loss.backward()
        stats["grad_norm_d"] = _grad_norm(nets.d_module, cfg.grad_clip)
        self.opt_d.step()
        stats["d_real"] = d_real.detach().float().mean()
        stats["d_fake"] = d_fake.detach().float().mean()
        return stats

    def generator_step(self, z: Tensor, real: Batch | None = None) -> dict[str, Tensor]:
        """One G update through a frozen, unwrapped D.

        `real` is the last real batch the D steps saw; this objective does not use it, but
        subclasses with a likelihood or supervised term do.
        """
        cfg, nets = self.cfg, self.nets
        nets.d_module.requires_grad_(False)
        try:
            with self._autocast():
                loss = generator_loss(cfg.loss, discriminate(nets.d_module, nets.generator(z)))
            self.opt_g.zero_grad(set_to_none=True)
            loss.backward()
            grad_norm = _grad_norm(nets.g_module, cfg.grad_clip)
            self.opt_g.step()
        finally:
            nets.d_module.requires_grad_(True)
        return {"loss_g": loss.detach(), "grad_norm_g": grad_norm}
