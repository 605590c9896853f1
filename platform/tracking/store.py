"""Where runs are tracked: the embedded local store by default, any MLflow URI otherwise."""

from __future__ import annotations

import os

from mlflow.tracking import MlflowClient

from ganforge.platform.config.schema import TrackingConfig
from ganforge.platform.errors import TrackingError
from ganforge.platform.home import ganforge_home


def local_store() -> tuple[str, str]:
    """(tracking URI, artifact root) of the embedded SQLite store."""
    home = ganforge_home()
    home.mkdir(parents=True, exist_ok=True)
    return f"sqlite:///{home / 'mlflow.db'}", (home / "mlartifacts").as_uri()


def tracking_uri(cfg: TrackingConfig) -> str:
    """The config's URI, else MLFLOW_TRACKING_URI, else the embedded SQLite store."""
    return cfg.uri or os.environ.get("MLFLOW_TRACKING_URI") or local_store()[0]


def ensure_experiment(client: MlflowClient, uri: str, cfg: TrackingConfig) -> str:
    """The experiment's id, creating it if needed: at `artifact_location` when set, under the
    embedded store's artifact folder for the embedded store, else where the server puts it."""
    experiment = client.get_experiment_by_name(cfg.experiment)
    if experiment is not None:
        return experiment.experiment_id
    store_uri, artifact_root = local_store()
    location = cfg.artifact_location
    if location is None and uri == store_uri:
        location = f"{artifact_root}/{cfg.experiment}"
    return client.create_experiment(cfg.experiment, artifact_location=location)


def apply_s3_endpoint(cfg: TrackingConfig) -> None:
    """Points MLflow's S3 artifact client at the configured endpoint (MinIO, the local one).

    Set before Ray starts, so local Ray workers inherit it. Retries: botocore's `standard`
    mode (backoff on throttling, 5xx and dropped connections) unless the user chose otherwise.
    """
    if cfg.s3_endpoint_url:
        os.environ["MLFLOW_S3_ENDPOINT_URL"] = cfg.s3_endpoint_url
    os.environ.setdefault("AWS_RETRY_MODE", "standard")
    os.environ.setdefault("AWS_MAX_ATTEMPTS", "8")


def ui_command(uri: str) -> str:
    """The command that opens the MLflow UI on `uri`."""
    if uri.startswith("sqlite:///"):
        return f"mlflow ui --backend-store-uri {uri} --port 5000   # then open http://127.0.0.1:5000"
    if uri.startswith(("http://", "https://")):
        return f"open {uri}"
    return f"mlflow ui --backend-store-uri {uri}"


def check_reachable(uri: str, timeout_s: float = 5.0) -> None:
    """Fails fast, before any training, when an HTTP tracking server does not answer.

    Raises:
        TrackingError: naming the URI and what went wrong.
    """
    if not uri.startswith(("http://", "https://")):
        return
    import requests  # MLflow's own HTTP client library

    try:
        response = requests.get(f"{uri.rstrip('/')}/health", timeout=timeout_s)
    except requests.RequestException as error:
        reason = type(error).__name__
        raise TrackingError(f"MLflow tracking server {uri} is unreachable ({reason})") from None
    if response.status_code >= 400:
        raise TrackingError(f"MLflow tracking server {uri} answered HTTP {response.status_code}")
