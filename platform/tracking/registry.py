"""Reading the model registry: resolve `models:/` URIs, load a generator with its card, tag versions."""

from __future__ import annotations

import io
import re
import warnings
from contextlib import redirect_stderr
from dataclasses import dataclass

import mlflow
import torch
from botocore.exceptions import BotoCoreError, ClientError
from mlflow.entities.model_registry import ModelVersion
from mlflow.exceptions import MlflowException
from mlflow.tracking import MlflowClient

from ganforge.platform.errors import TrackingError
from ganforge.platform.storage import is_transient, retry
from ganforge.platform.tracking.model import METADATA_KEY, GeneratorCard

_REGISTRY_URI = re.compile(r"^models:/(?P<name>[^/@]+)(?:/(?P<version>\d+)|@(?P<alias>[\w-]+))$")
# What reading a model's files raises: MLflow's download report, requests' HTTP errors (OSError),
# boto3's for an artifact location the client reads itself (s3://).
_READ_ERRORS = (MlflowException, OSError, ClientError, BotoCoreError)
# What MLflow's download report says of an absent object: S3 (proxied or direct), or a local
# artifact folder ("No such artifact").
_NOT_FOUND = ("404", "NoSuchKey", "NoSuchBucket", "RESOURCE_DOES_NOT_EXIST", "No such artifact")
_TAG_ATTEMPTS = 3  # after a duplicate-key refusal the row exists, so the next try updates it


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
        TrackingError: unknown URI, a model that ganforge did not log, or one whose files cannot
            be read (missing from the artifact store, or the store unreachable).
    """
    mlflow.set_tracking_uri(tracking_uri)
    client = MlflowClient(tracking_uri=tracking_uri)
    version = resolve_version(client, model_uri)
    try:
        metadata = mlflow.models.get_model_info(model_uri).metadata or {}
    except _READ_ERRORS as error:
        raise _unreadable(model_uri, version, error) from error
    raw = metadata.get(METADATA_KEY)
    if not isinstance(raw, dict) or "job" not in raw:
        raise TrackingError(f"{model_uri}: not a ganforge generator (no '{METADATA_KEY}' metadata)")
    # torch.export and MLflow print warnings and progress while loading; the CLI says what matters.
    try:
        with redirect_stderr(io.StringIO()), warnings.catch_warnings():
            warnings.simplefilter("ignore")
            module = mlflow.pytorch.load_model(model_uri)
    except _READ_ERRORS as error:
        raise _unreadable(model_uri, version, error) from error
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
    values = {f"metric.{name}": repr(float(value)) for name, value in metrics.items()}
    for key, value in {**values, **(tags or {}), "metrics_source": source}.items():
        _set_version_tag(client, version, key, value)


def _set_version_tag(client: MlflowClient, version: ModelVersion, key: str, value: str) -> None:
    """Sets one tag, again if a concurrent writer created the same key first (or the store blinked).

    MLflow's SQL store upserts a tag as select-then-insert, so two evaluators tagging one version at
    the same moment (one per node, say) can both insert and one fails on the unique key; on the
    next try the row exists and the write becomes an update (last writer wins).
    """
    retry(
        lambda: client.set_model_version_tag(version.name, version.version, key, value),
        f"tagging {version.name} v{version.version} with {key}",
        attempts=_TAG_ATTEMPTS,
        base_delay_s=0.05,
        worth_retrying=lambda error: _duplicate_key(error) or is_transient(error),
    )


def _duplicate_key(error: BaseException) -> bool:
    """Whether the store refused an insert for a key that already exists (SQLite, MySQL, Postgres
    wording; the REST server passes the database's message through)."""
    text = str(error) if isinstance(error, MlflowException) else ""
    return any(mark in text for mark in ("UNIQUE constraint failed", "Duplicate entry", "duplicate key"))


def version_metric(version: ModelVersion, run_metrics: dict[str, float], metric: str) -> float | None:
    """A version's value of `metric`: its (re)computed tag first, else its run's final metric."""
    tagged = version.tags.get(f"metric.{metric}")
    if tagged is not None:
        try:
            return float(tagged)
        except ValueError:
            pass
    return run_metrics.get(metric)


def _unreadable(model_uri: str, version: ModelVersion | None, error: BaseException) -> TrackingError:
    """One line for a model whose files cannot be read: missing from the store, or why not."""
    run = f" (run {version.run_id})" if version is not None and version.run_id else ""
    if missing_from_store(error):
        return TrackingError(
            f"{model_uri}{run}: the model's files are missing from the artifact store; the registry "
            "still lists it, but its objects were deleted or were held by an in-memory S3 endpoint "
            "that has stopped (train it again, or restore the store from a backup)"
        )
    return TrackingError(f"{model_uri}{run}: cannot read the model ({_failure_line(error)})")


def missing_from_store(error: BaseException) -> bool:
    """Whether a read failed because objects are absent, not because the store is unreachable."""
    if isinstance(error, FileNotFoundError):
        return True  # MLflow downloaded what the store lists, and a file the model needs was not there
    if isinstance(error, ClientError):
        return error.response.get("Error", {}).get("Code") in (*_NOT_FOUND, "NotFound")
    text = str(error)
    # A download, not a tracking call (a run that does not exist also says RESOURCE_DOES_NOT_EXIST).
    downloading = "occurred while downloading" in text or "/mlflow-artifacts/" in text
    return downloading and any(marker in text for marker in _NOT_FOUND)


def _failure_line(error: BaseException) -> str:
    """The telling line of an error: MLflow's download report puts the cause after its header."""
    lines = [line.strip() for line in str(error).strip().splitlines() if line.strip()]
    causes = [line for line in lines if not line.startswith("#####") and not line.endswith(":")]
    return (causes or lines or [type(error).__name__])[0][:200]
