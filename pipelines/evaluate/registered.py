"""Evaluating a logged generator from MLflow alone, with the modality's own metrics."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import torch

from ganforge.platform.config import apply_overrides, load_job_dict
from ganforge.platform.modality import get_modality
from ganforge.platform.tracking.registry import load_generator, record_metrics


@dataclass(frozen=True)
class Evaluation:
    metrics: dict[str, float]
    model_name: str | None
    version: str | None


def evaluate_model(model_uri: str, tracking_uri: str, overrides: dict[str, Any] | None = None) -> Evaluation:
    """Recomputes the metrics of `model_uri` on its job's data (`overrides` may repoint the data).

    Raises:
        TrackingError: unknown model; ConfigError/DataError: the job's data cannot be loaded here.
    """
    loaded = load_generator(model_uri, tracking_uri)
    job = load_job_dict(apply_overrides(loaded.card.job, overrides or {}), source=f"{model_uri} (job config)")
    modality = get_modality(job.modality)
    dataset = modality.load_dataset(job.data)
    with torch.no_grad():
        values = modality.evaluate(loaded.module, dataset, job.model, job.data, job.train.seed)
    metrics = {name: float(value) for name, value in values.items()}
    if loaded.version is None:
        return Evaluation(metrics, None, None)
    record_metrics(tracking_uri, loaded.version, metrics, source="ganforge evaluate")
    return Evaluation(metrics, loaded.version.name, str(loaded.version.version))
