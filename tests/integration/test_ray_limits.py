"""Ray jobs that cannot run or are stopped: refused before anything starts when the cluster can
never hold them, `interrupted` and exit 130 on Ctrl-C, and no Ray process of the run left behind."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import time
from pathlib import Path

import pytest
import yaml
from mlflow.tracking import MlflowClient

from ganforge.platform.cluster.resources import AUTOSCALING_ENV
from tests.conftest import REPO, ready_store_client, run_cli, start_interruptible, toy_job_file

pytestmark = pytest.mark.integration

TOO_MANY = (os.cpu_count() or 1) + 1
"""More workers than this machine has CPUs: the embedded local Ray can never hold them."""


def _processes_of(home: Path) -> list[str]:
    """The live processes of the run under test (driver, Ray's daemons, `ray::` workers): they all
    inherit its GANFORGE_HOME, which no other test shares. Never a match on a process name."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit() or int(entry.name) == os.getpid():
            continue
        try:
            environ = (entry / "environ").read_bytes().split(b"\0")
            command = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
        except OSError:  # gone meanwhile, or not ours
            continue
        homes = [item[len(b"GANFORGE_HOME=") :] for item in environ if item.startswith(b"GANFORGE_HOME=")]
        if any(Path(os.fsdecode(value)).resolve() == home.resolve() for value in homes):
            found.append(f"{entry.name}: {command[:120]}")
    return found


def _assert_none_left(home: Path, within_s: float = 20) -> None:
    deadline = time.monotonic() + within_s
    while (left := _processes_of(home)) and time.monotonic() < deadline:
        time.sleep(0.5)
    assert left == [], left


def _runs(home: Path) -> list:
    if (client := ready_store_client(home)) is None:  # the run's own process is still creating the store
        return []
    return client.search_runs([e.experiment_id for e in client.search_experiments()])


def test_more_workers_than_the_cluster_has_is_refused_within_seconds(tmp_path: Path, home: Path) -> None:
    config = toy_job_file(tmp_path, {"train.runner": "ray"})
    start = time.monotonic()
    result = run_cli("train", str(config), "--workers", str(TOO_MANY), cwd=tmp_path, timeout=120)
    assert time.monotonic() - start < 60  # Ray's start-up on a loaded 2-core machine included
    assert result.returncode == 2, result.stderr[-3000:]
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr[-3000:]
    expected = (
        rf"error: train\.workers = {TOO_MANY} needs {TOO_MANY} CPUs \(1 per worker\); "
        r"the Ray cluster has \d+ CPUs? in total \(largest node \d+\)"
    )
    assert re.fullmatch(expected, lines[0]), lines[0]
    assert _runs(home) == []  # refused before any MLflow run
    _assert_none_left(home)


def test_on_an_autoscaling_cluster_the_wait_is_bounded_and_said(tmp_path: Path, home: Path) -> None:
    """The local Ray taken for an autoscaling one (GANFORGE_AUTOSCALING=1; no node will come):
    one line says what the job waits for, and it is refused once train.resource_wait_s passes."""
    config = toy_job_file(tmp_path, {"train.runner": "ray", "train.resource_wait_s": 3})
    start = time.monotonic()
    too_many = ("--workers", str(TOO_MANY))
    result = run_cli("train", str(config), *too_many, cwd=tmp_path, env={AUTOSCALING_ENV: "1"}, timeout=120)
    assert time.monotonic() - start < 60
    assert result.returncode == 2, result.stderr[-3000:]
    lines = result.stderr.strip().splitlines()
    need = rf"train\.workers = {TOO_MANY} needs {TOO_MANY} CPUs \(1 per worker\); the Ray cluster has .*"
    assert len(lines) == 2, result.stderr[-3000:]
    assert re.fullmatch(rf"waiting up to 3 s \(train\.resource_wait_s\) for the autoscaler: {need}", lines[0])
    assert re.fullmatch(rf"error: {need}; no node was added within train\.resource_wait_s = 3 s", lines[1])
    assert _runs(home) == []
    _assert_none_left(home)


def test_a_sweep_trial_larger_than_any_node_is_refused(tmp_path: Path, home: Path) -> None:
    raw = yaml.safe_load((REPO / "configs" / "sweeps" / "toy_tiny.yaml").read_text())
    raw["resources"] = {"cpu": TOO_MANY}
    sweep = tmp_path / "sweep.yaml"
    sweep.write_text(yaml.safe_dump(raw))
    result = run_cli("sweep", str(sweep), cwd=tmp_path, timeout=120)
    assert result.returncode == 2, result.stderr[-3000:]
    lines = result.stderr.strip().splitlines()
    expected = (
        rf"error: resources\.cpu = {TOO_MANY} needs {TOO_MANY} CPUs on one node per trial; "
        r"the Ray cluster has \d+ CPUs? in total \(largest node \d+\)"
    )
    assert len(lines) == 1 and re.fullmatch(expected, lines[0]), result.stderr[-3000:]
    assert _runs(home) == []  # no parent run of the sweep
    _assert_none_left(home)


# `driver` is in the slow set only (24 s): the terminal case sends the same SIGINT to the driver too.
@pytest.mark.parametrize("to", [pytest.param("driver", marks=pytest.mark.slow), "terminal"])
def test_ctrl_c_on_the_ray_runner_is_interrupted_and_leaves_nothing(
    tmp_path: Path, home: Path, to: str
) -> None:
    """`driver`: SIGINT to the ganforge process only; `terminal`: to its whole process group, as a
    terminal's Ctrl-C reaches every process in the foreground group (Ray's own ones included)."""
    config = toy_job_file(tmp_path, {"train.runner": "ray", "train.steps": 100000, "train.log_every": 10})
    process = start_interruptible("train", str(config), cwd=tmp_path, stderr=subprocess.PIPE, process_group=0)
    try:
        deadline = time.monotonic() + 180
        while not (runs := _runs(home)) or not runs[0].data.metrics:  # training under way on a worker
            assert time.monotonic() < deadline and process.poll() is None
            time.sleep(1)
        assert any("ray::" in line for line in _processes_of(home))  # the lookup sees the workers
        if to == "driver":
            process.send_signal(signal.SIGINT)
        else:
            os.killpg(process.pid, signal.SIGINT)  # its own group (process_group=0), not the test's
        _, stderr = process.communicate(timeout=300)
    finally:
        process.kill()  # never leave a 100,000-step run behind a failed assertion
    assert process.returncode == 130, stderr[-3000:]
    assert stderr.strip().splitlines()[-1] == "interrupted"
    client = MlflowClient(tracking_uri=f"sqlite:///{home / 'mlflow.db'}")
    assert client.get_run(runs[0].info.run_id).info.status == "FAILED"
    assert client.search_registered_models() == []
    _assert_none_left(home)
