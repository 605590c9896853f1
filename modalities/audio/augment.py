"""Differentiable audio augmentations for adaptive augmentation (gan.ada; platform/gan/ada.py).

Clips are (batch, 1, window) in [-1, 1]. Each op draws its parameters per clip; the platform
decides per clip, with the adaptive probability p, whether the result is kept.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

Tensor = torch.Tensor


def gain(x: Tensor, max_db: float = 6.0) -> Tensor:
    """Scales each clip by a gain drawn uniformly in decibels, within +-`max_db`."""
    db = (torch.rand(len(x), 1, 1, dtype=x.dtype, device=x.device) * 2 - 1) * max_db
    return x * 10 ** (db / 20)


def time_shift(x: Tensor, ratio: float = 0.125) -> Tensor:
    """Delays or advances each clip by whole samples, up to `ratio` of the window, filling with
    silence (a shifted word is still a word: the edit changes no class)."""
    n, channels, length = x.shape
    radius = int(length * ratio + 0.5)
    shifts = torch.randint(-radius, radius + 1, (n, 1, 1), device=x.device)
    index = torch.arange(length, device=x.device).view(1, 1, -1) + radius - shifts
    return F.pad(x, (radius, radius)).gather(2, index.expand(n, channels, length))


AUGMENT_OPS = (time_shift, gain)
