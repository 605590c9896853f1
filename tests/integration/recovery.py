"""Shared by the recovery tests: run a training command and SIGKILL one of its Ray Train workers.

A worker is found through the run the test started, never by a name pattern alone: `pgrep -f
RayTrainWorker` would also match another test's or another user's workers on this machine.
- With a local Ray, the run's driver starts Ray itself: the raylet is the driver's child and the
  workers are the raylet's, so the run's workers are the driver's descendants.
- On a cluster, the workers belong to the cluster's raylets; the run's are the RayTrainWorker
  actors of the Ray job whose driver is the process the test started (Ray's state API).
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

WORKER_CLASS = "RayTrainWorker"


def _cmdline(pid: int) -> str:
    """The command line a process shows now (Ray workers show their actor class), or ''."""
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
    except OSError:
        return ""


def _is_worker(pid: int) -> bool:
    return WORKER_CLASS in _cmdline(pid)


def _descendants(root: int) -> list[int]:
    """Every process below `root` in the process tree (read from /proc)."""
    children: dict[int, list[int]] = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            text = stat.read_text()
        except OSError:  # the process ended meanwhile
            continue
        ppid = int(text.rsplit(")", 1)[1].split()[1])  # after the command name, which may hold spaces
        children.setdefault(ppid, []).append(int(stat.parent.name))
    found, frontier = [], [root]
    while frontier:
        below = children.get(frontier.pop(), [])
        found += below
        frontier += below
    return found


def local_workers(driver: int) -> list[int]:
    """The live Ray Train workers of the local Ray that process `driver` started."""
    return sorted(pid for pid in _descendants(driver) if _is_worker(pid))


def _cluster_worker_actors(driver: int, dashboard: str) -> list[int]:
    """Ray's state API, asked for the live RayTrainWorker actors of the job whose driver is `driver`.

    Runs in a process of its own (see `cluster_workers`): Ray reads its authentication mode once,
    when imported, and the test process imported Ray without the cluster's token mode.
    """
    from ray.util.state import list_actors, list_jobs

    pids = []
    for job in list_jobs(address=dashboard, raise_on_missing_output=False):
        if job.driver_info is None or job.driver_info.pid != str(driver) or job.status != "RUNNING":
            continue
        actors = list_actors(
            address=dashboard,
            filters=[("class_name", "=", WORKER_CLASS), ("state", "=", "ALIVE"), ("job_id", "=", job.job_id)],
            raise_on_missing_output=False,
        )
        pids += [actor.pid for actor in actors if actor.pid]
    return pids


def cluster_workers(driver: int, dashboard: str, env: dict) -> list[int]:
    """The live Ray Train workers of the Ray job whose driver is process `driver`, on the cluster
    whose dashboard is at `dashboard`, asked with `env` (the cluster's authentication settings).
    Every node of these tests runs on this machine, so an actor's pid is a local process."""
    query = [sys.executable, __file__, dashboard, str(driver)]
    result = subprocess.run(query, env=env, capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr[-3000:]
    # Checked again here: a pid names this worker only while it lives.
    return sorted(pid for pid in json.loads(result.stdout) if _is_worker(pid))


def _wait_gone(pid: int, timeout: float = 30) -> bool:
    """Whether the worker `pid` has gone (its raylet reaps it) within `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if not _is_worker(pid):
            return True
        time.sleep(0.2)
    return False


def run_killing_one_worker(
    command: list[str],
    cwd: Path,
    checkpoints: Path,
    env: dict | None = None,
    timeout: float = 600,
    dashboard: str | None = None,
    cluster_env: dict | None = None,
) -> tuple[subprocess.CompletedProcess, int | None]:
    """Starts `command`; once a checkpoint exists under `checkpoints`, SIGKILLs one of its workers.

    Args:
        command: a training command that runs the job's driver in its own process.
        cwd: where to run it.
        checkpoints: the folder the run checkpoints under (searched for `checkpoint_*`).
        env: variables added to this process's environment for the command.
        timeout: seconds for the whole run; a worker is looked for during the first half.
        dashboard: the dashboard address of the cluster the command joins; None when the
            command starts a local Ray of its own.
        cluster_env: the environment to ask that cluster's state API with (its token mode).

    Returns:
        The finished command, and the pid of the worker killed (None if none was found in time).
    """
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
    try:
        while time.monotonic() < deadline and killed is None and process.poll() is None:
            if list(checkpoints.rglob("checkpoint_*")):
                workers = (
                    local_workers(process.pid)
                    if dashboard is None
                    else cluster_workers(process.pid, dashboard, cluster_env or dict(os.environ))
                )
                if workers:
                    killed = workers[0]
                    os.kill(killed, signal.SIGKILL)
                    assert _wait_gone(killed), f"worker {killed} outlived its SIGKILL"
            time.sleep(0.5)
        stdout, stderr = process.communicate(timeout=timeout)
    except BaseException:  # the test fails here: do not leave the run behind
        process.kill()
        process.communicate()
        raise
    return subprocess.CompletedProcess(command, process.returncode, stdout, stderr), killed


if __name__ == "__main__":  # cluster_workers' query: DASHBOARD DRIVER_PID -> JSON list of pids
    print(json.dumps(_cluster_worker_actors(int(sys.argv[2]), sys.argv[1])))
