"""The truncation trick: what is shown and scored draws truncated noise, training never does."""

from __future__ import annotations

import pytest
import torch
from pydantic import ValidationError

from ganforge.modalities.image import MODALITY
from ganforge.modalities.image.config import ImageModel
from ganforge.modalities.image.truncation import truncate_noise


def test_truncate_noise_redraws_only_the_entries_outside() -> None:
    z = torch.randn(2000, 16, generator=torch.Generator().manual_seed(0))
    out = truncate_noise(z, 1.5, torch.Generator().manual_seed(1))
    inside = z.abs() <= 1.5
    assert (~inside).any()  # the draw had entries to redraw
    assert out.abs().max() <= 1.5
    assert torch.equal(out[inside], z[inside])
    assert torch.equal(out, truncate_noise(z, 1.5, torch.Generator().manual_seed(1)))  # seeded
    with pytest.raises(ValueError, match="positive"):
        truncate_noise(z, 0.0)


def test_output_latents_are_the_training_draw_unless_truncation_is_set() -> None:
    plain = ImageModel(latent_dim=32)
    z = MODALITY.output_latents(plain, {}, 500, torch.Generator().manual_seed(0))
    assert torch.equal(z, MODALITY.sample_latents(plain, {}, 500, torch.Generator().manual_seed(0)))

    truncated = ImageModel(latent_dim=32, truncation=2.0)
    train = MODALITY.sample_latents(truncated, {}, 500, torch.Generator().manual_seed(0))
    shown = MODALITY.output_latents(truncated, {}, 500, torch.Generator().manual_seed(0))
    assert train.abs().max() > 2.0  # training still draws the full N(0, I)
    assert shown.abs().max() <= 2.0 and shown.shape == train.shape


def test_a_conditional_model_keeps_its_class_column() -> None:
    model = ImageModel(arch="resnet", latent_dim=8, num_classes=10, truncation=1.0)
    train = MODALITY.sample_latents(model, {}, 40, torch.Generator().manual_seed(3))
    shown = MODALITY.output_latents(model, {}, 40, torch.Generator().manual_seed(3))
    assert torch.equal(shown[:, -1], train[:, -1])
    assert shown[:, :-1].abs().max() <= 1.0


@pytest.mark.parametrize("threshold", [0, -1.0])
def test_a_threshold_that_is_not_positive_is_refused(threshold: float) -> None:
    with pytest.raises(ValidationError, match="truncation"):
        ImageModel(truncation=threshold)
