"""Gradient penalties on the discriminator: WGAN-GP and R1."""

from __future__ import annotations

from collections.abc import Callable

import torch

Tensor = torch.Tensor


def _input_gradient(discriminate: Callable[[Tensor], Tensor], inputs: Tensor) -> Tensor:
    inputs = inputs.detach().requires_grad_(True)
    outputs = discriminate(inputs)
    # create_graph: the penalty itself is differentiated in D's backward pass.
    (grad,) = torch.autograd.grad(outputs.float().sum(), inputs, create_graph=True)
    return grad.flatten(start_dim=1)


def gradient_penalty(
    discriminate: Callable[[Tensor], Tensor],
    real: Tensor,
    fake: Tensor,
    generator: torch.Generator | None = None,
) -> Tensor:
    """WGAN-GP (Gulrajani et al. 2017): (||grad D(x_hat)|| - 1)^2 at random interpolates."""
    shape = (real.shape[0],) + (1,) * (real.dim() - 1)
    alpha = torch.rand(shape, generator=generator, device=real.device, dtype=real.dtype)
    interpolates = alpha * real.detach() + (1 - alpha) * fake.detach()
    grad = _input_gradient(discriminate, interpolates)
    return ((grad.norm(2, dim=1) - 1.0) ** 2).mean()


def r1_penalty(discriminate: Callable[[Tensor], Tensor], real: Tensor) -> Tensor:
    """R1 (Mescheder et al. 2018): squared gradient norm of D at real samples (without gamma/2)."""
    grad = _input_gradient(discriminate, real)
    return grad.pow(2).sum(dim=1).mean()
