"""`services status` tells a restarted endpoint (the process `up` started is gone, another answers
at its address) from a dead one (gone, nothing answers). Real processes and a real HTTP server on
loopback stand in for them; the CLI reads the state file `up` would have written."""

from __future__ import annotations

import json
import socket
import subprocess
import sys
import threading
from collections.abc import Iterator
from dataclasses import asdict
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from ganforge.platform.services.stack import ServicesState
from tests.conftest import run_cli


class _Answers(BaseHTTPRequestHandler):
    def do_GET(self) -> None:  # noqa: N802 - the http.server hook's name
        self.send_response(200)
        self.end_headers()

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def answering() -> Iterator[str]:
    """An address where some other process answers HTTP."""
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Answers)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()


def _exited_pid() -> int:
    process = subprocess.Popen([sys.executable, "-c", "pass"])
    process.wait()
    return process.pid


def _silent_address() -> str:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return f"http://127.0.0.1:{sock.getsockname()[1]}"  # closed again: nothing answers there


def test_restarted_and_dead_endpoints_are_told_apart(tmp_path: Path, answering: str) -> None:
    home = tmp_path / "home"
    state = ServicesState(
        tracking_uri=_silent_address(),
        mlflow_pid=_exited_pid(),
        s3_endpoint=answering,
        s3_pid=_exited_pid(),
        artifacts_destination="s3://ganforge/artifacts",
        backend_store_uri="sqlite:///unused.db",
        s3_kind="disk",
        s3_data=str(home / "services" / "s3"),
    )
    (home / "services").mkdir(parents=True)
    (home / "services" / "state.json").write_text(json.dumps(asdict(state)))
    result = run_cli("services", "status", env={"GANFORGE_HOME": str(home)})
    assert result.returncode == 1, result.stdout + result.stderr
    lines = {line.split()[0]: line for line in result.stdout.splitlines() if " pid " in line}
    assert f"pid {state.s3_pid}" in lines["s3"] and "RESTARTED (that pid is gone; another" in lines["s3"]
    assert f"pid {state.mlflow_pid}" in lines["mlflow"] and "DEAD (that pid is gone" in lines["mlflow"]
