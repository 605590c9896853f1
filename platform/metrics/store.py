"""Where metric models live: one logged model per key in the tracking store, cached locally.

On a cluster the tracking store's artifacts are in object storage, so every node, worker and
trial loads the one copy the driver stored; a node never trains its own ruler. The driver pins
the copy's `models:/<id>` URI into the job (`data.eval.metric_model`) before workers start.
"""

from __future__ import annotations

import re
import shutil
import tempfile
from dataclasses import replace
from pathlib import Path

import mlflow
from mlflow.entities import LoggedModel, LoggedModelStatus
from mlflow.exceptions import MlflowException
from mlflow.tracking import MlflowClient

from ganforge.platform.config.schema import TrackingConfig
from ganforge.platform.errors import ConfigError, TrackingError
from ganforge.platform.metrics.metric_model import (
    MetricModel,
    MetricModelRecipe,
    cache_folder,
    load_folder,
    read_card,
    train_metric_model,
    write_folder,
)
from ganforge.platform.storage import retry
from ganforge.platform.tracking.registry import missing_from_store, resolve_version
from ganforge.platform.tracking.store import ensure_experiment

EXPERIMENT = "ganforge-metric-models"
MODEL_TYPE = "ganforge-metric-model"
PIN_KEY = "data.eval.metric_model"
_LOGGED_MODEL_URI = re.compile(r"^models:/(?P<id>m-[0-9a-f]+)$")


def resolve_metric_model(
    recipe: MetricModelRecipe, tracking_uri: str | None, pinned: str | None = None
) -> MetricModel:
    """The metric model for `recipe`: the pinned copy, else the stored one, else a new one.

    `tracking_uri=None` keeps it in the local cache only (tracking off).

    Raises:
        ConfigError: the pinned model does not exist or was trained for other data or another
            metric version.
    """
    if pinned is not None:
        return _load_pinned(recipe, pinned, tracking_uri)
    folder = cache_folder(recipe.key)
    if tracking_uri is None:
        return load_folder(folder, recipe, None) or _train_into(folder, recipe)
    client = MlflowClient(tracking_uri=tracking_uri)
    stored = _find(client, recipe.key)
    if stored is not None:
        return _fetch(client, stored, recipe)
    model = load_folder(folder, recipe, None) or _train_into(folder, recipe)
    return replace(model, uri=_upload(client, tracking_uri, folder, model))


def _train_into(folder: Path, recipe: MetricModelRecipe) -> MetricModel:
    trained, sha256 = train_metric_model(recipe)
    shutil.rmtree(folder, ignore_errors=True)  # a damaged copy, if any
    write_folder(folder, recipe, trained, sha256)
    model = load_folder(folder, recipe, None)
    if model is None:  # pragma: no cover - the folder was just written
        raise RuntimeError(f"metric model {recipe.key}: cannot read back {folder}")
    return model


def _find(client: MlflowClient, key: str) -> LoggedModel | None:
    """The oldest finished copy of `key` (two drivers may both have stored one; they are equal)."""
    experiment = client.get_experiment_by_name(EXPERIMENT)
    if experiment is None:
        return None
    found = retry(
        lambda: client.search_logged_models([experiment.experiment_id], filter_string=f"name = '{key}'"),
        "search metric models",
    )
    ready = [m for m in found if m.status == LoggedModelStatus.READY]
    return min(ready, key=lambda m: m.creation_timestamp) if ready else None


def _upload(client: MlflowClient, tracking_uri: str, folder: Path, model: MetricModel) -> str:
    experiment_id = ensure_experiment(client, tracking_uri, TrackingConfig(experiment=EXPERIMENT))
    logged = client.create_logged_model(
        experiment_id, name=model.key, tags=model.tags() | {"ganforge.metric_key": model.key},
        model_type=MODEL_TYPE,
    )  # fmt: skip
    try:
        retry(lambda: client.log_model_artifacts(logged.model_id, str(folder)), "upload the metric model")
    except BaseException:
        client.finalize_logged_model(logged.model_id, LoggedModelStatus.FAILED)
        raise
    client.finalize_logged_model(logged.model_id, LoggedModelStatus.READY)
    return f"models:/{logged.model_id}"


def _fetch(client: MlflowClient, stored: LoggedModel, recipe: MetricModelRecipe) -> MetricModel:
    """The stored copy, from the local cache when it holds the same weights, else downloaded."""
    uri = f"models:/{stored.model_id}"
    folder = cache_folder(recipe.key)
    card = read_card(folder)
    if card is not None and card.get("sha256") == stored.tags.get("ganforge.metric_model_sha256"):
        cached = load_folder(folder, recipe, uri)
        if cached is not None:
            return cached
    folder.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=folder.parent) as tmp:
        try:
            downloaded = retry(
                lambda: mlflow.artifacts.download_artifacts(
                    artifact_uri=stored.artifact_location, dst_path=tmp, tracking_uri=client.tracking_uri
                ),
                "download the metric model",
            )
        except Exception as error:
            if missing_from_store(error):
                raise _missing(uri) from None
            raise
        if read_card(Path(downloaded)) is None:  # the store listed nothing, or lost the card
            raise _missing(uri)
        shutil.rmtree(folder, ignore_errors=True)
        shutil.move(downloaded, folder)
    model = load_folder(folder, recipe, uri)
    if model is None:
        raise ConfigError(f"{PIN_KEY} = {uri}: the stored copy is damaged (its weights fail their hash)")
    return model


def _logged_model_of(client: MlflowClient, pinned: str) -> LoggedModel:
    match = _LOGGED_MODEL_URI.match(pinned)
    if match is not None:
        return client.get_logged_model(match["id"])
    version = resolve_version(client, pinned)
    if version is None or not getattr(version, "model_id", None):
        raise ConfigError(
            f"{PIN_KEY} = {pinned}: expected models:/m-<id>, models:/NAME/V or models:/NAME@ALIAS"
        )
    return client.get_logged_model(version.model_id)


def _load_pinned(recipe: MetricModelRecipe, pinned: str, tracking_uri: str | None) -> MetricModel:
    if tracking_uri is None:
        raise ConfigError(f"{PIN_KEY} = {pinned}: a pinned metric model needs a tracking store")
    client = MlflowClient(tracking_uri=tracking_uri)
    try:
        stored = _logged_model_of(client, pinned)
    except (MlflowException, TrackingError):
        raise ConfigError(f"{PIN_KEY} = {pinned}: no such metric model in {tracking_uri}") from None
    key = stored.tags.get("ganforge.metric_key")
    if key != recipe.key:
        raise ConfigError(
            f"{PIN_KEY} = {pinned}: it is {key or 'not a ganforge metric model'}, but this job's data "
            f"and metric version need {recipe.key}"
        )
    return _fetch(client, stored, recipe)


def _missing(uri: str) -> ConfigError:
    """A stored metric model whose files are gone: told apart from one that fails its hash."""
    return ConfigError(
        f"{PIN_KEY} = {uri}: the stored copy's files are missing from the artifact store (deleted, or "
        "held by an in-memory S3 endpoint that has stopped); restore the store, or delete that logged "
        "model in the 'ganforge-metric-models' experiment so a new one is trained (scores made with "
        "the old one will not compare)"
    )
