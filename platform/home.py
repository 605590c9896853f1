"""GANFORGE_HOME: the folder of the embedded default (MLflow store, checkpoints, caches)."""

from __future__ import annotations

import os
from pathlib import Path


def ganforge_home() -> Path:
    """$GANFORGE_HOME, else ./ganforge-runs, as an absolute path."""
    return Path(os.environ.get("GANFORGE_HOME", "ganforge-runs")).resolve()
