"""Shared fixtures: a private GANFORGE_HOME / MLflow store per test, the repo root, the CLI."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
GANFORGE = str(Path(sys.executable).with_name("ganforge"))


@pytest.fixture
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """An empty embedded store for this test (MLflow SQLite, artifacts, checkpoints)."""
    path = tmp_path / "ganforge-home"
    monkeypatch.setenv("GANFORGE_HOME", str(path))
    monkeypatch.delenv("MLFLOW_TRACKING_URI", raising=False)
    return path


def run_cli(*args: str, cwd: Path | None = None, env: dict | None = None, timeout: float = 600):
    """Runs the installed `ganforge` command; returns the CompletedProcess."""
    full_env = {**os.environ, **(env or {})}
    return subprocess.run(
        [GANFORGE, *args],
        cwd=cwd or REPO,
        env=full_env,
        capture_output=True,
        text=True,
        timeout=timeout,
    )


def start_interruptible(*args: str, cwd: Path, **popen: object) -> subprocess.Popen:
    """`ganforge ARGS` in the background, ready for a Ctrl-C (SIGINT) from the test.

    A shell starts background jobs with SIGINT ignored and children inherit that, so a CI
    started that way would never see KeyboardInterrupt: give the child the default disposition.
    """
    return subprocess.Popen(
        [GANFORGE, *args],
        cwd=cwd,
        text=True,
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),
        **popen,  # type: ignore[arg-type]
    )


def toy_job_file(folder: Path, overrides: dict, file_name: str = "job.yaml") -> Path:
    """The toy modality's tiny config with dotted `overrides`, written as YAML under `folder`."""
    import yaml

    from ganforge.modalities.toy import MODALITY
    from ganforge.platform.config import apply_overrides

    folder.mkdir(parents=True, exist_ok=True)
    path = folder / file_name
    path.write_text(yaml.safe_dump(apply_overrides(MODALITY.tiny_config(), overrides)))
    return path


def ready_store_client(home: Path):  # noqa: ANN201
    """A client of the embedded store under `home`, or None while a ganforge process is still
    creating it. MlflowClient opens its store (and creates missing tables) as it is constructed,
    so a test that makes one before `.mlflow.db.ready` exists races that process's table creation."""
    from mlflow import MlflowClient

    if not (home / ".mlflow.db.ready").exists():
        return None
    return MlflowClient(tracking_uri=f"sqlite:///{home / 'mlflow.db'}")
