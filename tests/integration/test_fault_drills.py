"""Fault drills (issue 19, item 8): a tracked local run through `ganforge services up` while its
services misbehave. Real processes on loopback: `rclone serve s3`, `mlflow server`, the `ganforge`
CLI; the faults are real signals, and a restart relaunches the very command line, environment and
working folder of the process it killed.

Marked `slow` (a few minutes together) and left out of the default run: `pytest -m slow` runs them.
(Ctrl-C on the Ray runner, the fourth drill, runs in every suite: test_ray_limits.py.)
"""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from mlflow.tracking import MlflowClient

from tests.conftest import GANFORGE, toy_job_file

pytestmark = [pytest.mark.integration, pytest.mark.slow]

CREDENTIALS = {"AWS_ACCESS_KEY_ID": "gf-drill", "AWS_SECRET_ACCESS_KEY": "gf-drill-secret"}
STEPS, LOG_EVERY, SAMPLE_EVERY = 3000, 20, 250
EXPERIMENT = "drills"
RUN_BOUND_S = 420  # the longest a drilled run may take, start to exit (uploads: 120 s per step at most)


@pytest.fixture
def services(tmp_path: Path) -> Iterator[dict]:
    env = {**os.environ, "GANFORGE_HOME": str(tmp_path / "home"), **CREDENTIALS}
    up = subprocess.run([GANFORGE, "services", "up", "--json"], env=env, capture_output=True, text=True)
    assert up.returncode == 0, up.stderr[-3000:]
    state = json.loads(up.stdout.strip().splitlines()[-1])
    relaunched: list[subprocess.Popen] = []
    yield {
        "env": {**env, "MLFLOW_TRACKING_URI": state["tracking_uri"]},
        "state": state,
        "relaunched": relaunched,
    }
    subprocess.run([GANFORGE, "services", "down"], env=env, capture_output=True)
    for process in relaunched:  # `down` stops what `up` started, not these
        os.killpg(process.pid, signal.SIGKILL)
        process.wait()


def _start_run(tmp_path: Path, env: dict) -> subprocess.Popen:
    job = toy_job_file(
        tmp_path / "job",
        {
            "name": "drill",
            "tracking.experiment": EXPERIMENT,
            "tracking.model_name": "toy-drill",
            "train.steps": STEPS,
            "train.log_every": LOG_EVERY,
            "train.sample_every": SAMPLE_EVERY,
            "train.checkpoint_every": 1000,
        },
    )
    command = [GANFORGE, "train", str(job), "--runner", "local", "--json"]
    return subprocess.Popen(
        command, env=env, cwd=job.parent, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )


def _wait_for(condition: Callable[[], bool], timeout_s: float, what: str) -> None:
    deadline = time.monotonic() + timeout_s
    while not condition():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.5)


def _logged_steps(client: MlflowClient) -> list[int]:
    """The steps of `loss_d` the run has logged so far (empty before the run exists)."""
    experiment = client.get_experiment_by_name(EXPERIMENT)
    runs = client.search_runs([experiment.experiment_id]) if experiment else []
    if not runs:
        return []
    return [m.step for m in client.get_metric_history(runs[0].info.run_id, "loss_d")]


def _history_reached(client: MlflowClient, step: int) -> Callable[[], bool]:
    def reached() -> bool:
        try:
            return max(_logged_steps(client), default=0) >= step
        except Exception:  # noqa: BLE001 - the tracking server may itself be the one drilled
            return False

    return reached


def _finish(run: subprocess.Popen, started: float) -> tuple[dict, float]:
    stdout, stderr = run.communicate(timeout=RUN_BOUND_S)
    took = time.monotonic() - started
    assert run.returncode == 0, stderr[-3000:]
    return json.loads(stdout.strip().splitlines()[-1]), took


def _assert_complete(client: MlflowClient, outcome: dict) -> None:
    """Every metric step once, every sample step's files, and a registered model."""
    steps = [m.step for m in client.get_metric_history(outcome["run_id"], "loss_d")]
    assert steps == list(range(LOG_EVERY, STEPS + 1, LOG_EVERY)), f"gaps or duplicates: {steps}"
    images = [a.path for a in client.list_artifacts(outcome["run_id"], "images")]
    sampled = {int(m.group(1)) for m in map(re.compile(r"\+step\+(\d+)\+").search, images) if m}
    expected = set(range(SAMPLE_EVERY, STEPS + 1, SAMPLE_EVERY))  # log_image keeps the step in the name
    assert expected <= sampled, sorted(expected - sampled)
    assert "ganforge.failed_uploads" not in client.get_run(outcome["run_id"]).data.tags
    assert outcome.get("model_version")


def _pause(pid: int, seconds: float) -> None:
    os.kill(pid, signal.SIGSTOP)
    try:
        time.sleep(seconds)
    finally:
        os.kill(pid, signal.SIGCONT)


def _restart(pid: int, down_s: float) -> subprocess.Popen:
    """Kills `pid` (its process group) and, `down_s` later, starts its command line again with
    its environment and working folder: an endpoint restarted on the same address and data."""
    proc = Path("/proc") / str(pid)
    argv = (proc / "cmdline").read_bytes().rstrip(b"\0").split(b"\0")
    environ = dict(
        item.split(b"=", 1) for item in (proc / "environ").read_bytes().split(b"\0") if b"=" in item
    )
    cwd = os.readlink(proc / "cwd")
    os.killpg(pid, signal.SIGKILL)
    _wait_for(lambda: not proc.exists(), 30, f"process {pid} to exit")
    time.sleep(down_s)
    return subprocess.Popen(
        argv,
        env=environ,
        cwd=cwd,
        start_new_session=True,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )


def _drill(tmp_path: Path, services: dict, fault: Callable[[], None]) -> MlflowClient:
    """Starts a tracked run, applies `fault` once its first samples are logged, and checks that
    the run ends in bounded time with every metric step, sample and the model."""
    client = MlflowClient(tracking_uri=services["env"]["MLFLOW_TRACKING_URI"])
    started = time.monotonic()
    run = _start_run(tmp_path, services["env"])
    _wait_for(_history_reached(client, SAMPLE_EVERY), 120, "the first samples")
    assert run.poll() is None, "the run ended before the fault: make it longer (STEPS)"
    fault()
    outcome, took = _finish(run, started)
    _wait_for(_history_reached(client, STEPS), 120, "the tracking server")
    _assert_complete(client, outcome)
    assert took < RUN_BOUND_S
    return client


def test_s3_paused_for_20_s_mid_run_loses_nothing(tmp_path: Path, services: dict) -> None:
    _drill(tmp_path, services, lambda: _pause(services["state"]["s3_pid"], 20))


def test_s3_killed_and_restarted_mid_run_ends_in_bounded_time(tmp_path: Path, services: dict) -> None:
    relaunch = services["relaunched"].append
    _drill(tmp_path, services, lambda: relaunch(_restart(services["state"]["s3_pid"], down_s=5)))
    status = subprocess.run(
        [GANFORGE, "services", "status"], env=services["env"], capture_output=True, text=True
    )
    assert status.returncode == 1 and "RESTARTED" in status.stdout, status.stdout


def test_mlflow_restarted_mid_run_resumes_metrics_without_gap_or_duplicate(
    tmp_path: Path, services: dict
) -> None:
    relaunch = services["relaunched"].append
    _drill(tmp_path, services, lambda: relaunch(_restart(services["state"]["mlflow_pid"], down_s=5)))
