"""Shared by the recovery tests: run a training command and SIGKILL one Ray Train worker mid-run."""

from __future__ import annotations

import os
import signal
import subprocess
import time
from pathlib import Path


def train_worker_pids() -> list[int]:
    out = subprocess.run(["pgrep", "-f", "RayTrainWorker"], capture_output=True, text=True).stdout
    return [int(pid) for pid in out.split()]


def run_killing_one_worker(
    command: list[str], cwd: Path, checkpoints: Path, env: dict | None = None, timeout: float = 600
) -> tuple[subprocess.CompletedProcess, int | None]:
    """Starts `command`; once a checkpoint exists under `checkpoints`, kills one training worker."""
    process = subprocess.Popen(
        command,
        cwd=cwd,
        env={**os.environ, **(env or {})},
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    deadline = time.monotonic() + timeout / 2
    killed = None
    while time.monotonic() < deadline and killed is None and process.poll() is None:
        if list(checkpoints.rglob("checkpoint_*")) and train_worker_pids():
            killed = train_worker_pids()[0]
            os.kill(killed, signal.SIGKILL)
        time.sleep(0.5)
    stdout, stderr = process.communicate(timeout=timeout)
    return subprocess.CompletedProcess(command, process.returncode, stdout, stderr), killed
