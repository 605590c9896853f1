"""Adaptive discriminator augmentation (Karras et al. 2020, StyleGAN2-ADA), for every modality.

On a small data set D memorises the reals: it calls them real ever more confidently and G's
gradient stops carrying information. ADA passes every input of D, real and fake alike, through
augmentations, each applied per sample with probability p, and steers p by D's overfitting
signal r_t = E[sign(D(real))] (1: every real called real; 0: chance). Fakes are augmented in the
G step too, differentiably, so G is pushed toward the un-augmented distribution; with p below
about 0.8 the augmentations do not leak into G's samples (the paper's Fig. 3).

The ops come from the modality (`Modality.augment_ops`); this file only knows "callables x -> x
that draw their own parameters per sample". Random draws use torch's global generator, which
checkpoints hold per rank, and p with its accumulator lives in the objective's state_dict: a
resumed run repeats the uninterrupted one bit for bit. Nothing here waits on the host.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any

import torch
import torch.distributed as dist

from ganforge.platform.errors import ConfigError
from ganforge.platform.gan.batch import Batch, labels_of, samples_of

if TYPE_CHECKING:  # the config package imports the modality registry, which imports this
    from ganforge.platform.config.schema import AdaConfig

Tensor = torch.Tensor
AugmentOp = Callable[[Tensor], Tensor]
"""A batch of samples -> an augmented batch of the same shape, differentiable in its input; it
draws its random parameters (shift, gain, ...) per sample. Whether a sample keeps the result is
decided outside, with probability p."""


def augment(x: Tensor, ops: Sequence[AugmentOp], p: Tensor | float) -> Tensor:
    """Applies each op, in order, to each sample independently with probability `p`.

    Each op runs on the whole batch and `where` keeps its result for the chosen samples only: the
    others pass through bit for bit, and gradients reach `x` through both branches.
    """
    for op in ops:
        chosen = torch.rand(len(x), device=x.device) < p
        x = torch.where(chosen.view(-1, *(1,) * (x.dim() - 1)), op(x), x)
    return x


def _sum_over_workers(value: Tensor) -> Tensor:
    """`value` summed over DDP workers (itself on one), without a host sync."""
    if dist.is_available() and dist.is_initialized() and dist.get_world_size() > 1:
        value = value.clone()
        dist.all_reduce(value)
    return value


class AdaptiveAugment:
    """p, the r_t accumulator and the augment pipeline of one worker (identical p on every worker).

    Every `interval` D steps: r_t = sum of sign(D(real)) / number of real logits, both summed over
    the interval and over workers; then p += sign(r_t - target) x N / speed_images, clamped to
    [0, p_max], where N is the number of real images D saw in the interval on all workers
    (batch x world x interval). With ADA's defaults (batch 64, interval 4, 500k images) one update
    moves p by 5.12e-4, so p can cross 0 -> 1 in ~7,800 D steps at the earliest.
    """

    def __init__(self, cfg: AdaConfig, ops: Sequence[AugmentOp], device: torch.device) -> None:
        if not ops:  # the loader refuses such a job; this guards direct construction
            raise ConfigError("gan.ada.enabled = True: this job's modality provides no augment ops")
        self.cfg = cfg
        self.ops = tuple(ops)
        self.p = torch.zeros((), device=device)
        self.rt = torch.zeros((), device=device)
        """r_t of the last completed interval (0 before the first)."""
        self._since_update = torch.zeros(3, device=device)
        """[sum of sign(D(real)), real logits, real images] since the last update of p."""
        self._d_steps = 0

    def __call__(self, batch: Batch) -> Batch:
        """The batch with its samples augmented at the current p (labels untouched)."""
        x = augment(samples_of(batch), self.ops, self.p)
        labels = labels_of(batch)
        return (x, *labels) if labels else x

    def observe(self, d_real: Tensor, images: int) -> None:
        """Accumulates one D step's logits on (augmented) reals; every `interval` steps moves p."""
        signs = d_real.detach().float().sign()
        self._since_update = self._since_update + torch.stack(
            [signs.sum(), signs.new_tensor(float(signs.numel())), signs.new_tensor(float(images))]
        )
        self._d_steps += 1
        if self._d_steps % self.cfg.interval:
            return
        signs_sum, logits, seen = _sum_over_workers(self._since_update).unbind()
        self.rt = signs_sum / logits
        step = torch.sign(self.rt - self.cfg.target) * seen / self.cfg.speed_images
        self.p = (self.p + step).clamp(0.0, self.cfg.p_max)
        self._since_update = torch.zeros_like(self._since_update)

    def stats(self) -> dict[str, Tensor]:
        """`ada_p` and `ada_rt` (tensors: the loop reads them only when it logs)."""
        return {"ada_p": self.p, "ada_rt": self.rt}

    def state_dict(self) -> dict[str, Any]:
        return {
            "p": self.p.cpu().clone(),
            "rt": self.rt.cpu().clone(),
            "since_update": self._since_update.cpu().clone(),
            "d_steps": self._d_steps,
        }

    def load_state_dict(self, state: dict[str, Any]) -> None:
        device = self.p.device
        self.p = state["p"].to(device)
        self.rt = state["rt"].to(device)
        self._since_update = state["since_update"].to(device)
        self._d_steps = int(state["d_steps"])
