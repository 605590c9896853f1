"""Several `ganforge train` started at the same moment on one fresh embedded store."""

from __future__ import annotations

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
