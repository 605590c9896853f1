"""Where runs are tracked: the embedded local store by default, any MLflow URI otherwise."""

from __future__ import annotations

import fcntl
import os
import shutil
from pathlib import Path

import mlflow
from mlflow.exceptions import MlflowException
from mlflow.tracking import MlflowClient

from ganforge.platform.config.schema import TrackingConfig
from ganforge.platform.errors import TrackingError
from ganforge.platform.home import ganforge_home
from ganforge.platform.tracking.runs_view import VIEW_QUERY


def _local_paths() -> tuple[Path, str, str]:
    """(home, tracking URI, artifact root) of the embedded store, without touching it."""
    home = ganforge_home()
    return home, f"sqlite:///{home / 'mlflow.db'}", (home / "mlartifacts").as_uri()


def local_store() -> tuple[str, str]:
    """(tracking URI, artifact root) of the embedded SQLite store, created and migrated.

    Every MLflow client of the embedded store gets its URI here, so the first touch of a fresh
    store always goes through `_initialise_local_store` and its file lock.
    """
    home, uri, artifact_root = _local_paths()
    home.mkdir(parents=True, exist_ok=True)
    _initialise_local_store(home, uri, artifact_root)
    return uri, artifact_root


def _initialise_local_store(home: Path, uri: str, artifact_root: str) -> None:
    """Creates or upgrades the SQLite database once, under an exclusive lock.

    Several jobs started at the same moment on a fresh home would otherwise all run MLflow's
    table creation and alembic migrations at once, and all but one fail half-way. The holder of
    `.mlflow.db.lock` does the work and writes a marker naming the MLflow version; later calls
    see the marker and return without locking.
    """
    database, marker = home / "mlflow.db", home / ".mlflow.db.ready"
    if _is_ready(database, marker):
        return
    with open(home / ".mlflow.db.lock", "a") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # released when the file closes
        if _is_ready(database, marker):  # another job did it while we waited
            return
        _create_or_upgrade(database, uri, artifact_root)
        partial = marker.with_name(f"{marker.name}.{os.getpid()}")
        partial.write_text(mlflow.__version__)
        partial.replace(marker)  # atomic: a reader sees no marker or a whole one


def _is_ready(database: Path, marker: Path) -> bool:
    try:
        return database.is_file() and marker.read_text() == mlflow.__version__
    except OSError:
        return False


def _create_or_upgrade(database: Path, uri: str, artifact_root: str) -> None:
    """Runs MLflow's table creation (a fresh file) or its migrations (a store written by an
    older MLflow, backed up first), then opens the store once: that checks the schema and
    creates the default experiment, the tracking and registry tables being in one file."""
    from mlflow.store.db import utils as db_utils
    from mlflow.store.tracking.sqlalchemy_store import SqlAlchemyStore

    if database.is_file():
        engine = db_utils.create_sqlalchemy_engine(uri)
        try:
            found = db_utils._get_schema_version(engine)
            if found is not None and found != db_utils._get_latest_schema_revision():
                shutil.copy2(database, database.with_name(f"mlflow.db.before-{found}"))
                db_utils._upgrade_db(engine)
        finally:
            engine.dispose()
    SqlAlchemyStore(uri, artifact_root)


EXPERIMENT_KIND_TAG = "mlflow.experimentKind"
MODEL_TRAINING = "custom_model_development"
"""The kind MLflow 3's UI reads to open an experiment in its model-training view, not GenAI's."""
ML_VIEW = "workflowType=machine_learning"


def tracking_uri(cfg: TrackingConfig, *, create: bool = True) -> str:
    """The config's URI, else MLFLOW_TRACKING_URI, else the embedded SQLite store.

    Args:
        cfg: the job's or sweep's tracking section.
        create: False gives the embedded store's URI without creating it, for a check that
            opens no client (`check_reachable`); an MLflow client must get a created one.
    """
    chosen = cfg.uri or os.environ.get("MLFLOW_TRACKING_URI")
    if chosen:
        return chosen
    return local_store()[0] if create else _local_paths()[1]


def ensure_experiment(client: MlflowClient, uri: str, cfg: TrackingConfig) -> str:
    """The experiment's id, creating it if needed: at `artifact_location` when set, under the
    embedded store's artifact folder for the embedded store, else where the server puts it."""
    experiment = client.get_experiment_by_name(cfg.experiment)
    if experiment is not None:
        if EXPERIMENT_KIND_TAG not in experiment.tags:  # made before ganforge set it, or by hand
            client.set_experiment_tag(experiment.experiment_id, EXPERIMENT_KIND_TAG, MODEL_TRAINING)
        return experiment.experiment_id
    _, store_uri, artifact_root = _local_paths()
    location = cfg.artifact_location
    if location is None and uri == store_uri:
        location = f"{artifact_root}/{cfg.experiment}"
    try:
        return client.create_experiment(
            cfg.experiment, artifact_location=location, tags={EXPERIMENT_KIND_TAG: MODEL_TRAINING}
        )
    except MlflowException as error:
        # Another job created it between our look and our create: use theirs.
        if error.error_code != "RESOURCE_ALREADY_EXISTS":
            raise
        experiment = client.get_experiment_by_name(cfg.experiment)
        if experiment is None:
            raise
        return experiment.experiment_id


def ui_page(
    base: str, experiment_id: str | None = None, run_id: str | None = None, ranked: bool = False
) -> str:
    """The MLflow UI page of a run (or an experiment, or the experiment list) in its model-training
    view: MLflow 3 opens its GenAI view (traces, token usage) unless the URL or the experiment's
    kind says otherwise. `ranked`: the experiment's runs in ganforge's saved view (runs_view.py:
    best run first, the metrics as columns, the quality curves in its charts)."""
    path = "#/experiments"
    query = ML_VIEW
    if experiment_id is not None:
        path += f"/{experiment_id}" + (f"/runs/{run_id}" if run_id else "")
        if ranked and run_id is None:
            path, query = f"{path}/runs", f"{query}&{VIEW_QUERY}"
    return f"{base.rstrip('/')}/{path}?{query}"


def ui_command(uri: str, run_id: str | None = None) -> str:
    """The command that opens the MLflow UI on `uri`, at `run_id`'s page and its experiment's
    ranked runs when given."""
    experiment_id = _experiment_of(uri, run_id)
    if uri.startswith("sqlite:///"):
        pages = _pages("http://127.0.0.1:5000", experiment_id, run_id)
        return f"mlflow ui --backend-store-uri {uri} --port 5000   # then open {pages}"
    if uri.startswith(("http://", "https://")):
        return f"open {_pages(uri, experiment_id, run_id)}"
    return f"mlflow ui --backend-store-uri {uri}"


def _pages(base: str, experiment_id: str | None, run_id: str | None) -> str:
    page = ui_page(base, experiment_id, run_id)
    if experiment_id is None or run_id is None:
        return page
    return (
        f"{page} (the run) or {ui_page(base, experiment_id, ranked=True)} (its experiment's runs, best first)"
    )


def _experiment_of(uri: str, run_id: str | None) -> str | None:
    if run_id is None:
        return None
    try:
        return MlflowClient(tracking_uri=uri).get_run(run_id).info.experiment_id
    except Exception:  # noqa: BLE001 - only a link is at stake: the experiment list will do
        return None


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
