"""Reading the model registry: resolve `models:/` URIs, load a generator with its card, tag versions."""

from __future__ import annotations

import io
import re
import warnings
from contextlib import redirect_stderr
from dataclasses import dataclass

import mlflow
import torch
from mlflow.entities.model_registry import ModelVersion
from mlflow.exceptions import MlflowException
from mlflow.tracking import MlflowClient

from ganforge.platform.errors import TrackingError
from ganforge.platform.tracking.model import METADATA_KEY, GeneratorCard

_REGISTRY_URI = re.compile(r"^models:/(?P<name>[^/@]+)(?:/(?P<version>\d+)|@(?P<alias>[\w-]+))$")


@dataclass(frozen=True)
class LoadedGenerator:
    module: torch.nn.Module
    card: GeneratorCard
    version: ModelVersion | None
    """The registry version behind the URI (None for runs:/ or logged-model URIs)."""


def resolve_version(client: MlflowClient, model_uri: str) -> ModelVersion | None:
    """The version a `models:/NAME/V` or `models:/NAME@ALIAS` URI names; None for other URIs.

    Raises:
        TrackingError: the name, version or alias does not exist.
    """
    match = _REGISTRY_URI.match(model_uri)
    if match is None:
        return None
    name = match["name"]
    try:
        if match["alias"]:
            return client.get_model_version_by_alias(name, match["alias"])
        return client.get_model_version(name, match["version"])
    except MlflowException as error:
        raise TrackingError(f"{model_uri}: not in the model registry ({error.error_code})") from None


def load_generator(model_uri: str, tracking_uri: str) -> LoadedGenerator:
    """Loads a logged generator and its card from the registry or run alone (no checkpoint).

    Raises:
        TrackingError: unknown URI, or a model that ganforge did not log.
    """
    mlflow.set_tracking_uri(tracking_uri)
    client = MlflowClient(tracking_uri=tracking_uri)
    version = resolve_version(client, model_uri)
    try:
        metadata = mlflow.models.get_model_info(model_uri).metadata or {}
    except (MlflowException, OSError) as error:
        raise TrackingError(f"{model_uri}: cannot read the model ({_first_line(error)})") from None
    raw = metadata.get(METADATA_KEY)
    if not isinstance(raw, dict) or "job" not in raw:
        raise TrackingError(f"{model_uri}: not a ganforge generator (no '{METADATA_KEY}' metadata)")
    # torch.export and MLflow print warnings and progress while loading; the CLI says what matters.
    with redirect_stderr(io.StringIO()), warnings.catch_warnings():
        warnings.simplefilter("ignore")
        module = mlflow.pytorch.load_model(model_uri)
    card = GeneratorCard(job=raw["job"], samples=raw.get("samples", {}), lineage=raw.get("lineage", {}))
    return LoadedGenerator(module=module, card=card, version=version)


def record_metrics(
    tracking_uri: str,
    version: ModelVersion,
    metrics: dict[str, float],
    source: str,
    tags: dict[str, str] | None = None,
) -> None:
    """Stores recomputed metrics on a version as `metric.NAME` tags (what `select` ranks by),
    with `tags` naming the metric model they were computed with."""
    client = MlflowClient(tracking_uri=tracking_uri)
    for name, value in metrics.items():
        client.set_model_version_tag(version.name, version.version, f"metric.{name}", repr(float(value)))
    for key, value in (tags or {}).items():
        client.set_model_version_tag(version.name, version.version, key, value)
    client.set_model_version_tag(version.name, version.version, "metrics_source", source)


def version_metric(version: ModelVersion, run_metrics: dict[str, float], metric: str) -> float | None:
    """A version's value of `metric`: its (re)computed tag first, else its run's final metric."""
    tagged = version.tags.get(f"metric.{metric}")
    if tagged is not None:
        try:
            return float(tagged)
        except ValueError:
            pass
    return run_metrics.get(metric)


def _first_line(error: BaseException) -> str:
    text = str(error).strip().splitlines()
    return text[0][:200] if text else type(error).__name__
