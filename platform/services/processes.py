"""Background service processes: start detached, wait until healthy, stop cleanly."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import time
from collections.abc import Callable
from pathlib import Path

from ganforge.platform.errors import GanforgeError

LOOPBACK = "127.0.0.1"


class ServiceError(GanforgeError):
    """A local service could not be started, reached or stopped."""


def free_port() -> int:
    """A TCP port on loopback that nothing listens on right now."""
    with socket.socket() as probe:
        probe.bind((LOOPBACK, 0))
        return probe.getsockname()[1]


def port_in_use(port: int) -> bool:
    with socket.socket() as probe:
        return probe.connect_ex((LOOPBACK, port)) == 0


def spawn(command: list[str], log_file: Path, env: dict[str, str]) -> int:
    """Starts `command` in its own session (it outlives the CLI), logging to `log_file`."""
    log_file.parent.mkdir(parents=True, exist_ok=True)
    with log_file.open("ab") as log:
        process = subprocess.Popen(
            command,
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            env=env,
            start_new_session=True,
        )
    return process.pid


def is_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    # A zombie child of this process still answers kill(0): reap it if it has exited.
    try:
        done, _ = os.waitpid(pid, os.WNOHANG)
    except ChildProcessError:
        return True
    return done == 0


def wait_until(check: Callable[[], bool], timeout_s: float, what: str, pid: int, log_file: Path) -> None:
    """Polls `check` until it holds; fails with the log's last line if the process dies or time runs out."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if check():
            return
        if not is_alive(pid):
            raise ServiceError(f"{what} exited during start-up: {_last_line(log_file)} (log: {log_file})")
        time.sleep(0.3)
    raise ServiceError(f"{what} did not become healthy within {timeout_s:.0f}s (log: {log_file})")


def stop(pid: int, timeout_s: float = 15.0) -> None:
    """SIGTERM to the process group, then SIGKILL if it lingers."""
    for sig in (signal.SIGTERM, signal.SIGKILL):
        try:
            os.killpg(pid, sig)
        except ProcessLookupError:
            return
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            if not is_alive(pid):
                return
            time.sleep(0.2)


def _last_line(log_file: Path) -> str:
    try:
        lines = [line for line in log_file.read_text(errors="replace").splitlines() if line.strip()]
    except OSError:
        return "no log"
    return lines[-1][:300] if lines else "no output"
