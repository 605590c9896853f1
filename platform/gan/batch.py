"""Batches that are either samples alone or (samples, labels) for class-conditional models.

Convention for conditional modalities: the dataset yields `(x, y)` pairs, the generator maps
latents to `(x, y)` (it reads the class from its latent input and passes it through), and the
discriminator is called as `D(x, y)`. Unconditional batches are plain tensors and `D(x)`.
Keeping the label inside the generator's input and output lets a registered generator be
sampled from its latents alone.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import torch

Tensor = torch.Tensor
Batch = Tensor | tuple[Tensor, ...]


def samples_of(batch: Batch) -> Tensor:
    """The samples `x` of a batch (the first element of a conditional pair)."""
    return batch[0] if isinstance(batch, tuple | list) else batch


def labels_of(batch: Batch) -> tuple[Tensor, ...]:
    """The conditioning tensors of a batch: empty for an unconditional one."""
    return tuple(batch[1:]) if isinstance(batch, tuple | list) else ()


def discriminate(d: Callable[..., Tensor], batch: Batch) -> Tensor:
    """Calls D on a batch, passing labels when the batch has them."""
    return d(samples_of(batch), *labels_of(batch))


def with_labels(d: Callable[..., Tensor], labels: tuple[Tensor, ...]) -> Callable[[Tensor], Tensor]:
    """D as a function of samples only (labels fixed), as the gradient penalties need it."""
    return lambda x: d(x, *labels)


def map_batch(fn: Callable[[Tensor], Any], batch: Batch) -> Batch:
    """Applies `fn` to every tensor of a batch, keeping its shape (tensor or tuple)."""
    if isinstance(batch, tuple | list):
        return tuple(fn(t) for t in batch)
    return fn(batch)


def detach(batch: Batch) -> Batch:
    return map_batch(lambda t: t.detach(), batch)
