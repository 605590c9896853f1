"""Exponential moving average of the generator's weights."""

from __future__ import annotations

import copy

import torch
from torch import nn


def make_ema_copy(generator: nn.Module) -> nn.Module:
    """A frozen copy of `generator` to hold the averaged weights."""
    ema = copy.deepcopy(generator).eval()
    ema.requires_grad_(False)
    return ema


@torch.no_grad()
def update_ema(ema: nn.Module, generator: nn.Module, decay: float, step: int, warmup: int) -> None:
    """Moves `ema` towards `generator`; before `warmup` steps it copies the weights outright.

    Buffers (e.g. BatchNorm running stats) are copied: averaging them has no meaning.
    """
    beta = decay if step >= warmup else 0.0
    ema_params = list(ema.parameters())
    params = [p.detach() for p in generator.parameters()]
    torch._foreach_lerp_(ema_params, params, 1.0 - beta)
    for ema_buffer, buffer in zip(ema.buffers(), generator.buffers(), strict=True):
        ema_buffer.copy_(buffer)
