"""Adversarial losses on raw discriminator outputs (logits / critic values)."""

from __future__ import annotations

from collections.abc import Callable

import torch
import torch.nn.functional as F

Tensor = torch.Tensor


def _ns_d(real: Tensor, fake: Tensor) -> Tensor:
    # softplus(-x) = -log sigmoid(x): the numerically stable form of the original GAN loss.
    return F.softplus(-real).mean() + F.softplus(fake).mean()


def _ns_g(fake: Tensor) -> Tensor:
    return F.softplus(-fake).mean()


def _hinge_d(real: Tensor, fake: Tensor) -> Tensor:
    return F.relu(1.0 - real).mean() + F.relu(1.0 + fake).mean()


def _wasserstein_d(real: Tensor, fake: Tensor) -> Tensor:
    return fake.mean() - real.mean()


def _critic_g(fake: Tensor) -> Tensor:
    # Hinge and Wasserstein share the generator objective: raise the critic's score.
    return -fake.mean()


def _lsgan_d(real: Tensor, fake: Tensor) -> Tensor:
    return 0.5 * ((real - 1.0) ** 2).mean() + 0.5 * (fake**2).mean()


def _lsgan_g(fake: Tensor) -> Tensor:
    return 0.5 * ((fake - 1.0) ** 2).mean()


D_LOSSES: dict[str, Callable[[Tensor, Tensor], Tensor]] = {
    "non_saturating": _ns_d,
    "hinge": _hinge_d,
    "wasserstein": _wasserstein_d,
    "least_squares": _lsgan_d,
}
G_LOSSES: dict[str, Callable[[Tensor], Tensor]] = {
    "non_saturating": _ns_g,
    "hinge": _critic_g,
    "wasserstein": _critic_g,
    "least_squares": _lsgan_g,
}


def discriminator_loss(kind: str, real_logits: Tensor, fake_logits: Tensor) -> Tensor:
    """D's loss for `kind` given its outputs on a real and a fake batch."""
    return D_LOSSES[kind](real_logits.float(), fake_logits.float())


def generator_loss(kind: str, fake_logits: Tensor) -> Tensor:
    """G's loss for `kind` given D's outputs on a fake batch."""
    return G_LOSSES[kind](fake_logits.float())
