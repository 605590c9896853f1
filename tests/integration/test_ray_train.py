"""Ray Train runner on a real local Ray: 2 DDP workers, and recovery from a killed worker."""

from __future__ import annotations

import json
import os
import re
import sys
from pathlib import Path

import pytest
from mlflow.tracking import MlflowClient

from tests.conftest import GANFORGE, run_cli, toy_job_file
from tests.integration.recovery import run_killing_one_worker

pytestmark = pytest.mark.integration


def _config(tmp_path: Path, **overrides) -> Path:
    return toy_job_file(tmp_path, {"train.runner": "ray", **overrides})


def test_two_workers_with_penalties_train_and_register(tmp_path: Path, home: Path) -> None:
    # R1 and WGAN-GP both differentiate through D's DDP wrapper; BatchNorm is on in G.
    config = _config(
        tmp_path,
        **{
            "train.workers": 2,
            "gan.r1_gamma": 0.1,
            "gan.r1_every": 2,
            "gan.gradient_penalty": 1.0,
            "gan.n_critic": 2,
        },
    )
    result = run_cli("train", str(config), "--json", cwd=tmp_path)
    assert result.returncode == 0, result.stderr[-3000:]
    outcome = json.loads(result.stdout.strip().splitlines()[-1])
    assert outcome["metrics"]["step"] == 20
    assert outcome["model_version"] == "1"
    run = MlflowClient(tracking_uri=outcome["tracking_uri"]).get_run(outcome["run_id"])
    assert run.data.tags["ganforge.runner"] == "ray"
    assert "(RayTrainWorker" not in result.stdout + result.stderr  # worker noise stays out


def test_killed_worker_resumes_from_checkpoint_and_finishes(tmp_path: Path, home: Path) -> None:
    steps = 300
    config = _config(
        tmp_path,
        **{
            "train.workers": 2,
            "train.steps": steps,
            "train.checkpoint_every": 30,
            "train.log_every": 10,
            "train.sample_every": 0,
        },
    )
    result, killed = run_killing_one_worker(
        [GANFORGE, "train", str(config), "--json"], tmp_path, home / "ray"
    )
    assert killed is not None, "no worker of this run was found and killed before it ended"
    assert result.returncode == 0, result.stderr[-3000:]
    stdout = result.stdout
    outcome = json.loads(stdout.strip().splitlines()[-1])
    assert outcome["metrics"]["step"] == steps
    assert outcome["model_version"] == "1"
    client = MlflowClient(tracking_uri=outcome["tracking_uri"])
    history = client.get_metric_history(outcome["run_id"], "loss_d")
    # Resumed, not restarted: every logged step is there once (no gap, no duplicate).
    assert sorted(m.step for m in history) == list(range(10, steps + 1, 10))
    # The restart is visible: one line in the terminal, the attempt count on the run.
    said = re.findall(r"a worker failed; Ray Train restarted the workers \(attempt (\d+)\)", result.stderr)
    attempts = int(client.get_run(outcome["run_id"]).data.tags["ganforge.attempts"])
    assert said and attempts >= 2 and int(said[-1]) == attempts, result.stderr[-3000:]


def test_checkpoints_go_to_s3_with_an_explicit_endpoint(
    tmp_path: Path, home: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from ganforge.platform.services.processes import free_port, spawn, stop, wait_until
    from ganforge.platform.services.stack import s3_healthy
    from ganforge.platform.storage import list_objects, s3_client

    port = free_port()
    endpoint = f"http://127.0.0.1:{port}"
    keys = {"AWS_ACCESS_KEY_ID": "test", "AWS_SECRET_ACCESS_KEY": "test", "AWS_DEFAULT_REGION": "us-east-1"}
    for key, value in keys.items():
        monkeypatch.setenv(key, value)
    command = [sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)]
    pid = spawn(command, tmp_path / "s3.log", {**os.environ})
    try:
        wait_until(lambda: s3_healthy(endpoint), 60, "S3 endpoint", pid, tmp_path / "s3.log")
        s3_client(endpoint).create_bucket(Bucket="checkpoints")
        config = _config(
            tmp_path,
            **{
                "train.workers": 2,
                "train.storage_path": "s3://checkpoints/ray",
                "tracking.s3_endpoint_url": endpoint,
                "tracking.enabled": False,
            },
        )
        result = run_cli("train", str(config), "--json", cwd=tmp_path)
        assert result.returncode == 0, result.stderr[-3000:]
        stored = list_objects(s3_client(endpoint), "checkpoints", "ray/")
        assert any(key.endswith("/state.pt") for key in stored), stored[:20]
        assert any(key.endswith("/rng_rank1.pt") for key in stored)  # every rank's part of the checkpoint
    finally:
        stop(pid)
