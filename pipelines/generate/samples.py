"""Generating from the registry alone: the model, its card, and the modality's writer."""

from __future__ import annotations

from pathlib import Path

import torch
from pydantic import ValidationError

from ganforge.platform.config.loading import describe_validation_error
from ganforge.platform.errors import ConfigError, TrackingError
from ganforge.platform.gan.batch import Batch, map_batch
from ganforge.platform.modality import get_modality
from ganforge.platform.tracking.registry import load_generator

CHUNK = 256


def _concat(chunks: list[Batch]) -> Batch:
    if isinstance(chunks[0], tuple | list):
        return tuple(torch.cat(parts) for parts in zip(*chunks, strict=True))
    return torch.cat(chunks)  # type: ignore[arg-type]


def generate_samples(
    model_uri: str,
    tracking_uri: str,
    n: int,
    out_dir: Path,
    seed: int = 0,
    truncation: float | None = None,
) -> list[Path]:
    """Draws `n` samples (seeded) from `model_uri` and writes them under `out_dir`.

    Only the model config is rebuilt from the card (not the data config), so generation works
    on a machine that has none of the training data. `truncation` replaces the model's
    `model.truncation` for this draw (models whose config has one: images).
    """
    loaded = load_generator(model_uri, tracking_uri)
    try:
        modality = get_modality(loaded.card.job["modality"])
    except KeyError as error:
        raise TrackingError(f"{model_uri}: its modality {error} is not installed here") from None
    model_json = dict(loaded.card.job["model"])
    if truncation is not None:
        if "truncation" not in modality.model_config.model_fields:
            raise ConfigError(
                f"{model_uri}: truncation applies to models whose config has model.truncation "
                f"(images); this is a {modality.name} model"
            )
        model_json["truncation"] = truncation
    try:
        model_cfg = modality.model_config.model_validate(model_json)
    except ValidationError as error:
        reason = describe_validation_error(error, modality.model_config)
        raise ConfigError(f"{model_uri} (model config): {reason}") from None
    latents = modality.output_latents(model_cfg, loaded.card.samples, n, torch.Generator().manual_seed(seed))
    with torch.no_grad():
        chunks = [map_batch(lambda t: t.detach().cpu(), loaded.module(z)) for z in latents.split(CHUNK)]
    return modality.export_samples(_concat(chunks), out_dir, loaded.card.samples)
