"""Losses, penalties, EMA and switches of the modality-agnostic GAN core."""

from __future__ import annotations

import math

import pytest
import torch
from torch import nn

from ganforge.platform.gan import (
    add_spectral_norm,
    discriminator_loss,
    generator_loss,
    gradient_penalty,
    make_ema_copy,
    r1_penalty,
    update_ema,
)
from ganforge.platform.gan.ema import ema_beta, recompute_batch_norm

REAL = torch.tensor([2.0, -1.0])
FAKE = torch.tensor([0.5, -3.0])


def test_non_saturating_matches_binary_cross_entropy() -> None:
    bce = nn.functional.binary_cross_entropy_with_logits
    expected_d = bce(REAL, torch.ones(2)) + bce(FAKE, torch.zeros(2))
    assert discriminator_loss("non_saturating", REAL, FAKE) == pytest.approx(expected_d.item())
    assert generator_loss("non_saturating", FAKE) == pytest.approx(bce(FAKE, torch.ones(2)).item())


def test_hinge_wasserstein_least_squares() -> None:
    # hinge: mean(relu(1 - real)) + mean(relu(1 + fake)) = (0 + 2)/2 + (1.5 + 0)/2
    assert discriminator_loss("hinge", REAL, FAKE) == pytest.approx(1.0 + 0.75)
    assert discriminator_loss("wasserstein", REAL, FAKE) == pytest.approx(-1.25 - 0.5)
    assert generator_loss("wasserstein", FAKE) == pytest.approx(1.25)
    assert generator_loss("hinge", FAKE) == pytest.approx(1.25)
    # least squares: 0.5 mean((real-1)^2) + 0.5 mean(fake^2) = 0.5*(1+4)/2 + 0.5*(0.25+9)/2
    assert discriminator_loss("least_squares", REAL, FAKE) == pytest.approx(1.25 + 2.3125)
    assert generator_loss("least_squares", FAKE) == pytest.approx(0.5 * (0.25 + 16) / 2)


def test_gradient_penalty_is_zero_for_unit_gradient_and_positive_otherwise() -> None:
    real, fake = torch.randn(8, 3), torch.randn(8, 3)
    unit = nn.Linear(3, 1, bias=False)
    with torch.no_grad():
        unit.weight.copy_(torch.tensor([[0.6, 0.8, 0.0]]))  # |w| = 1
    assert gradient_penalty(unit, real, fake).item() == pytest.approx(0.0, abs=1e-10)
    with torch.no_grad():
        unit.weight.mul_(3.0)  # |w| = 3 -> penalty (3 - 1)^2
    assert gradient_penalty(unit, real, fake).item() == pytest.approx(4.0)


def test_r1_is_squared_input_gradient_and_differentiable() -> None:
    critic = nn.Linear(2, 1, bias=False)
    with torch.no_grad():
        critic.weight.copy_(torch.tensor([[3.0, 4.0]]))
    penalty = r1_penalty(critic, torch.randn(5, 2))
    assert penalty.item() == pytest.approx(25.0)
    penalty.backward()  # d/dw |w|^2 = 2w
    assert torch.allclose(critic.weight.grad, torch.tensor([[6.0, 8.0]]))


def test_ema_half_life_ramps_up_to_that_of_decay() -> None:
    # StyleGAN2-ADA: half-life = min(rampup x steps, the decay's); beta = 0.5 ** (1 / half-life).
    assert ema_beta(1, 0.999, 0.05) == pytest.approx(0.5**20)  # half-life 0.05 steps: follows G
    assert ema_beta(200, 0.999, 0.05) == pytest.approx(0.5 ** (1 / 10))  # half-life 10 steps
    assert ema_beta(100_000, 0.999, 0.05) == pytest.approx(0.999)  # capped at decay's 693 steps
    betas = [ema_beta(step, 0.999, 0.05) for step in range(1, 20_000, 97)]
    assert betas == sorted(betas)
    assert ema_beta(1, 0.99, None) == 0.99


def test_ema_averages_parameters_only() -> None:
    net = nn.Sequential(nn.Linear(1, 1, bias=False), nn.BatchNorm1d(1))
    ema = make_ema_copy(net)
    with torch.no_grad():
        net[0].weight.fill_(2.0)
        ema[0].weight.fill_(12.0)
        net[1].running_mean.fill_(5.0)
    update_ema(ema, net, beta=0.9)
    assert ema[0].weight.item() == pytest.approx(0.9 * 12.0 + 0.1 * 2.0)
    assert ema[1].running_mean.item() == 0.0  # statistics are recomputed, not copied or averaged
    assert not any(p.requires_grad for p in ema.parameters())


def test_batch_norm_statistics_are_recomputed_from_the_modules_own_activations() -> None:
    net = nn.Sequential(nn.Linear(1, 1, bias=False), nn.BatchNorm1d(1, momentum=0.1))
    with torch.no_grad():
        net[0].weight.fill_(3.0)
    latents = [torch.randn(64, 1, generator=torch.Generator().manual_seed(i)) for i in range(4)]
    recompute_batch_norm(net, latents)
    activations = torch.cat(latents) * 3.0
    assert net[1].running_mean.item() == pytest.approx(activations.mean().item(), abs=1e-5)
    # BatchNorm keeps the unbiased variance of each batch; the cumulative average weighs each batch alike.
    per_batch = torch.stack([(z * 3.0).var(unbiased=True) for z in latents])
    assert net[1].running_var.item() == pytest.approx(per_batch.mean().item(), rel=1e-5)
    assert net[1].momentum == 0.1 and not net.training


def test_spectral_norm_bounds_the_largest_singular_value() -> None:
    net = nn.Sequential(nn.Linear(4, 16), nn.ReLU(), nn.Linear(16, 1))
    with torch.no_grad():
        net[0].weight.mul_(50)
    add_spectral_norm(net)
    for _ in range(30):  # power iterations run in training-mode forwards
        net(torch.randn(8, 4))
    sigma = torch.linalg.matrix_norm(net[0].weight.detach(), ord=2).item()
    assert math.isclose(sigma, 1.0, rel_tol=0.05)
