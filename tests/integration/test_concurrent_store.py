"""Several `ganforge train` started at the same moment on one fresh embedded store."""

from __future__ import annotations

import multiprocessing
import os
import subprocess
from pathlib import Path

import pytest
from mlflow.tracking import MlflowClient

from tests.conftest import GANFORGE, toy_job_file

pytestmark = pytest.mark.integration

JOBS = 3


def test_jobs_started_together_share_a_fresh_store(tmp_path: Path, home: Path) -> None:
    assert not home.exists()  # the first touch of the store is the jobs' own
    configs = [
        toy_job_file(tmp_path, {"train.runner": "local", "train.seed": seed}, f"job{seed}.yaml")
        for seed in range(JOBS)
    ]
    # Started back to back, before any has imported MLflow: their store set-up overlaps.
    processes = [
        subprocess.Popen(
            [GANFORGE, "train", str(config)],
            cwd=tmp_path,
            env=dict(os.environ),
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for config in configs
    ]
    try:
        results = [process.communicate(timeout=600) for process in processes]
    finally:
        for process in processes:
            process.kill()  # never leave a job behind a failed assertion
    for process, (_, stderr) in zip(processes, results, strict=True):
        assert process.returncode == 0, stderr[-3000:]
        assert "Traceback" not in stderr, stderr[-3000:]

    client = MlflowClient(tracking_uri=f"sqlite:///{home / 'mlflow.db'}")
    experiments = client.search_experiments()
    runs = client.search_runs([e.experiment_id for e in experiments])
    assert len(runs) == JOBS
    assert {run.info.status for run in runs} == {"FINISHED"}
    assert {run.data.params["train.seed"] for run in runs} == {str(seed) for seed in range(JOBS)}
    versions = client.search_model_versions("name = 'toy-tiny'")
    assert sorted(int(v.version) for v in versions) == list(range(1, JOBS + 1))
    assert {v.run_id for v in versions} == {run.info.run_id for run in runs}


WRITERS = 4
ROUNDS = 3  # one round collides more often than not; three make a missed race unlikely


def _tag_version(tracking_uri: str, barrier, round_: int) -> None:
    from ganforge.platform.tracking.registry import record_metrics

    version = MlflowClient(tracking_uri=tracking_uri).get_model_version("scored", "1")
    barrier.wait()  # every writer tags the same fresh keys at the same moment
    record_metrics(tracking_uri, version, _round_metrics(round_), source="ganforge evaluate")


def _round_metrics(round_: int) -> dict[str, float]:
    return {f"r{round_}_{index}": float(index) for index in range(30)}


def test_evaluators_tag_one_version_at_the_same_moment(tmp_path: Path) -> None:
    # As when every node of a cluster scores one registered generator (test_cluster.py): MLflow's
    # SQL store writes a tag as select-then-insert, so concurrent writers of one new key collide.
    tracking_uri = f"sqlite:///{tmp_path / 'mlflow.db'}"
    client = MlflowClient(tracking_uri=tracking_uri)
    client.create_registered_model("scored")
    client.create_model_version("scored", source=(tmp_path / "model").as_uri())
    spawn = multiprocessing.get_context("spawn")
    for round_ in range(ROUNDS):
        barrier = spawn.Barrier(WRITERS)
        writers = [
            spawn.Process(target=_tag_version, args=(tracking_uri, barrier, round_)) for _ in range(WRITERS)
        ]
        for writer in writers:
            writer.start()
        for writer in writers:
            writer.join(timeout=300)
        assert [writer.exitcode for writer in writers] == [0] * WRITERS
    tags = client.get_model_version("scored", "1").tags
    for round_ in range(ROUNDS):
        for name, value in _round_metrics(round_).items():
            assert float(tags[f"metric.{name}"]) == value
    assert tags["metrics_source"] == "ganforge evaluate"
