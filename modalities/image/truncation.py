"""The truncation trick (Brock et al., BigGAN): latents with no entry beyond a threshold.

Entries of N(0, 1) noise whose magnitude exceeds the threshold are redrawn until none does, so
samples come from the denser middle of the latent space: a generator's outputs there are cleaner
and less varied. The entries already inside are kept as drawn, so a grid's latents change only
where they were extreme.
"""

from __future__ import annotations

import torch


def truncate_noise(
    z: torch.Tensor, threshold: float, generator: torch.Generator | None = None
) -> torch.Tensor:
    """A copy of N(0, 1) noise `z` with every entry beyond `threshold` redrawn from `generator`
    until it falls inside."""
    if threshold <= 0:
        raise ValueError(f"truncation threshold must be positive, got {threshold}")
    z = z.clone()
    outside = z.abs() > threshold
    while outside.any():
        z[outside] = torch.randn(int(outside.sum()), generator=generator, dtype=z.dtype)
        outside = z.abs() > threshold
    return z
