"""GANFORGE_HOME: the folder of the embedded default (MLflow store, checkpoints, caches)."""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path


def ganforge_home(environ: Mapping[str, str] | None = None) -> Path:
    """$GANFORGE_HOME, else ./ganforge-runs, as an absolute path.

    Args:
        environ: where to read GANFORGE_HOME (default: this process's environment).
    """
    env = os.environ if environ is None else environ
    return Path(env.get("GANFORGE_HOME", "ganforge-runs")).resolve()
