"""The embedded store is created once, under a file lock, however many jobs start at once."""

from __future__ import annotations

import fcntl
import threading
from pathlib import Path
from types import SimpleNamespace

import mlflow
import pytest
from mlflow.exceptions import MlflowException
from mlflow.protos.databricks_pb2 import PERMISSION_DENIED, RESOURCE_ALREADY_EXISTS
from mlflow.tracking import MlflowClient

from ganforge.platform.config.schema import TrackingConfig
from ganforge.platform.tracking.store import ensure_experiment, local_store, tracking_uri


def _in_threads(count: int) -> list[object]:
    """Calls local_store() from `count` threads at once; each result or exception."""
    barrier = threading.Barrier(count)
    results: list[object] = [None] * count

    def call(index: int) -> None:
        barrier.wait()
        try:
            results[index] = local_store()
        except BaseException as error:  # noqa: BLE001 - reported by the test
            results[index] = error

    threads = [threading.Thread(target=call, args=(i,)) for i in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    return results


def test_two_threads_initialise_a_fresh_store(home: Path) -> None:
    results = _in_threads(2)
    assert results[0] == results[1] == (f"sqlite:///{home / 'mlflow.db'}", (home / "mlartifacts").as_uri())
    assert (home / ".mlflow.db.ready").read_text() == mlflow.__version__
    client = MlflowClient(tracking_uri=results[0][0])  # type: ignore[index]
    assert [e.name for e in client.search_experiments()] == ["Default"]


def test_initialisation_waits_for_the_lock_holder(home: Path) -> None:
    home.mkdir(parents=True)
    with open(home / ".mlflow.db.lock", "a") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # another job is creating the store
        waiter = threading.Thread(target=local_store)
        waiter.start()
        waiter.join(timeout=1.0)
        assert waiter.is_alive()
        assert not (home / "mlflow.db").exists()
    waiter.join(timeout=120)
    assert not waiter.is_alive()
    assert (home / ".mlflow.db.ready").read_text() == mlflow.__version__


def test_a_marker_from_another_mlflow_version_is_checked_again(home: Path) -> None:
    uri, _ = local_store()
    (home / ".mlflow.db.ready").write_text("0.0.0")
    assert local_store()[0] == uri
    assert (home / ".mlflow.db.ready").read_text() == mlflow.__version__


def test_an_experiment_created_meanwhile_by_another_job_is_used() -> None:
    theirs = SimpleNamespace(experiment_id="7")
    looks = iter([None, theirs])

    class Racing:
        def get_experiment_by_name(self, name: str) -> SimpleNamespace | None:
            return next(looks)

        def create_experiment(
            self, name: str, artifact_location: str | None = None, tags: dict | None = None
        ) -> str:
            raise MlflowException("already exists", error_code=RESOURCE_ALREADY_EXISTS)

    cfg = TrackingConfig(experiment="shared")
    assert ensure_experiment(Racing(), "http://tracking", cfg) == "7"  # type: ignore[arg-type]


def test_other_experiment_errors_still_raise() -> None:
    class Broken:
        def get_experiment_by_name(self, name: str) -> None:
            return None

        def create_experiment(
            self, name: str, artifact_location: str | None = None, tags: dict | None = None
        ) -> str:
            raise MlflowException("nope", error_code=PERMISSION_DENIED)

    with pytest.raises(MlflowException, match="nope"):
        ensure_experiment(Broken(), "http://tracking", TrackingConfig(experiment="x"))  # type: ignore[arg-type]


def test_a_store_of_an_older_schema_is_backed_up_and_upgraded(home: Path) -> None:
    from alembic import command
    from mlflow.store.db import utils as db_utils

    uri, _ = local_store()
    engine = db_utils.create_sqlalchemy_engine(uri)
    head = db_utils._get_schema_version(engine)
    config = db_utils._get_alembic_config(uri)
    try:
        with engine.begin() as connection:  # the store as an older MLflow left it
            config.attributes["connection"] = connection
            command.downgrade(config, "-1")
    except Exception as error:  # noqa: BLE001 - not every migration can be undone
        pytest.skip(f"MLflow's latest migration cannot be downgraded: {error}")
    older = db_utils._get_schema_version(engine)
    (home / ".mlflow.db.ready").write_text("an older MLflow")

    local_store()
    assert db_utils._get_schema_version(engine) == head
    assert (home / f"mlflow.db.before-{older}").is_file()
    engine.dispose()


def test_a_uri_for_a_check_only_does_not_create_the_store(home: Path) -> None:
    uri = tracking_uri(TrackingConfig(), create=False)
    assert uri == f"sqlite:///{home / 'mlflow.db'}"
    assert not (home / "mlflow.db").exists()
    assert tracking_uri(TrackingConfig()) == uri
    assert (home / "mlflow.db").is_file()
