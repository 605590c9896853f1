"""Exponential moving average of the generator's weights, with StyleGAN2-ADA's ramp-up.

The average's half-life grows with training: `rampup` × the steps done so far, up to the
half-life that `decay` gives. Early on the EMA generator therefore follows G closely (an average
over an untrained G is noise) without ever being a plain copy, and later it never reaches back
further than a fixed share of training. BatchNorm statistics are not averaged: statistics
measured under G's weights do not describe the averaged weights, so they are recomputed from the
EMA generator's own activations whenever it is used (`recompute_batch_norm`).
"""

from __future__ import annotations

import copy
import math
from collections.abc import Iterable

import torch
from torch import nn


def make_ema_copy(generator: nn.Module) -> nn.Module:
    """A frozen copy of `generator` to hold the averaged weights."""
    ema = copy.deepcopy(generator).eval()
    ema.requires_grad_(False)
    return ema


def ema_beta(steps_done: int, decay: float, rampup: float | None) -> float:
    """The averaging weight of the old EMA after `steps_done` G steps (1-based).

    With `rampup`, the half-life in steps is min(rampup × steps_done, ln 0.5 / ln decay), as
    StyleGAN2-ADA ramps ema_nimg (its default rampup is 0.05); without, it is `decay` throughout.
    """
    if rampup is None:
        return decay
    half_life = min(rampup * steps_done, math.log(0.5) / math.log(decay))
    return 0.5 ** (1.0 / half_life) if half_life > 0 else 0.0


@torch.no_grad()
def update_ema(ema: nn.Module, generator: nn.Module, beta: float) -> None:
    """ema ← beta · ema + (1 − beta) · generator, for the parameters (buffers: see the module doc)."""
    ema_params = list(ema.parameters())
    params = [p.detach() for p in generator.parameters()]
    torch._foreach_lerp_(ema_params, params, 1.0 - beta)


def has_batch_norm(module: nn.Module) -> bool:
    return any(isinstance(m, nn.modules.batchnorm._BatchNorm) for m in module.modules())


@torch.no_grad()
def recompute_batch_norm(module: nn.Module, latents: Iterable[torch.Tensor]) -> None:
    """Sets every BatchNorm's running statistics to the exact mean and variance of its inputs over
    the `latents` batches passed through `module` (a cumulative average, not a momentum one).
    The module is left in eval mode."""
    norms = [m for m in module.modules() if isinstance(m, nn.modules.batchnorm._BatchNorm)]
    momenta = [m.momentum for m in norms]
    for norm in norms:
        norm.reset_running_stats()
        norm.momentum = None  # cumulative moving average: every batch weighs the same
    module.train()
    try:
        for z in latents:
            module(z)
    finally:
        for norm, momentum in zip(norms, momenta, strict=True):
            norm.momentum = momentum
        module.eval()
