"""Evaluating a logged generator from MLflow alone, with the modality's own metrics."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch

from ganforge.modalities.tokens.config import TokenModel
from ganforge.modalities.tokens.scoring import FileScore, score_file
from ganforge.platform.config import apply_overrides, load_job_dict
from ganforge.platform.errors import ConfigError
from ganforge.platform.metrics.jobs import job_metric_model
from ganforge.platform.modality import get_modality
from ganforge.platform.tracking.registry import load_generator, record_metrics


@dataclass(frozen=True)
class Evaluation:
    metrics: dict[str, float]
    model_name: str | None
    version: str | None
    metric_model: dict[str, str] = field(default_factory=dict)
    """The metric model's tags (URI, weights hash, metric version); empty if none was needed."""


def evaluate_model(model_uri: str, tracking_uri: str, overrides: dict[str, Any] | None = None) -> Evaluation:
    """Recomputes the metrics of `model_uri` on its job's data (`overrides` may repoint the data).

    The generator's run pinned its metric model in the job config, so the rescoring uses that
    same stored copy (on any machine); `--set data.eval.metric_model=...` picks another.

    Raises:
        TrackingError: unknown model; ConfigError/DataError: the job's data or metric model cannot
            be loaded here.
    """
    loaded = load_generator(model_uri, tracking_uri)
    job = load_job_dict(apply_overrides(loaded.card.job, overrides or {}), source=f"{model_uri} (job config)")
    modality = get_modality(job.modality)
    data = modality.prepare(job.data)
    scorer = job_metric_model(job, data, tracking_uri)
    with torch.no_grad():
        values = modality.evaluate(loaded.module, data, job.model, job.data, job.train.seed, scorer)
    metrics = {name: float(value) for name, value in values.items()}
    tags = scorer.tags() if scorer else {}
    if loaded.version is None:
        return Evaluation(metrics, None, None, tags)
    record_metrics(tracking_uri, loaded.version, metrics, source="ganforge evaluate", tags=tags)
    return Evaluation(metrics, loaded.version.name, str(loaded.version.version), tags)


def score_token_file(model_uri: str, tracking_uri: str, path: Path) -> FileScore:
    """The per-token NLL of the sequences in `path` under the `tokens` generator `model_uri`.

    `path` is read as the model's job read its data (text with the saved vocabulary and tokenizer,
    or token ids); nothing is recorded on the version.

    Raises:
        TrackingError: unknown model; ConfigError: not a tokens model; DataError: a file the
            model cannot read (named with its line).
    """
    loaded = load_generator(model_uri, tracking_uri)
    job = loaded.card.job
    if job.get("modality") != "tokens":
        raise ConfigError(f"--tokens scores a tokens model; {model_uri} is a {job.get('modality')} model")
    # Only what reads the file and builds G: the job's paths (its data, its start) need not exist here.
    model = TokenModel.model_validate({**job["model"], "init_generator": None})
    lowercase = bool(job.get("data", {}).get("lowercase", False))
    return score_file(path, model, loaded.card.samples, loaded.module.state_dict(), lowercase)
