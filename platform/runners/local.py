"""The in-process runner: the loop in this Python process, checkpoints in a local folder."""

from __future__ import annotations

import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

from ganforge.platform.config.schema import JobConfig
from ganforge.platform.runners.context import WorkerContext
from ganforge.platform.runners.loop import train_loop
from ganforge.platform.tracking.stream import TrackingTarget

ProgressFn = Callable[[int, dict[str, float]], None]


class LocalContext(WorkerContext):
    """Single worker; checkpoints are folders `checkpoint_XXXXXXX` under `checkpoint_root`."""

    def __init__(
        self,
        checkpoint_root: Path,
        resume_from: Path | None = None,
        on_progress: ProgressFn | None = None,
    ) -> None:
        self.checkpoint_root = checkpoint_root
        self.resume_from = resume_from
        self.on_progress = on_progress
        self.reports: list[dict[str, Any]] = []

    def latest_checkpoint(self) -> Path | None:
        if self.resume_from is not None:
            return self.resume_from
        return latest_checkpoint_in(self.checkpoint_root)

    def report(self, metrics: dict[str, Any], checkpoint_dir: Path | None) -> None:
        self.reports.append(metrics)
        if checkpoint_dir is not None:
            target = self.checkpoint_root / f"checkpoint_{int(metrics['step']):07d}"
            shutil.copytree(checkpoint_dir, target, dirs_exist_ok=True)

    def progress(self, step: int, metrics: dict[str, float]) -> None:
        if self.on_progress is not None:
            self.on_progress(step, metrics)


def latest_checkpoint_in(root: Path) -> Path | None:
    """The newest `checkpoint_*` folder under `root`, if any."""
    found = sorted(root.glob("checkpoint_*")) if root.exists() else []
    return found[-1] if found else None


def run_local(
    job: JobConfig,
    checkpoint_root: Path,
    target: TrackingTarget | None = None,
    on_progress: ProgressFn | None = None,
    resume_from: Path | None = None,
) -> tuple[dict[str, float], Path]:
    """Trains in this process; returns the final metrics and the final checkpoint's folder."""
    ctx = LocalContext(checkpoint_root, resume_from, on_progress)
    metrics = train_loop(job, ctx, target)
    final = latest_checkpoint_in(checkpoint_root)
    assert final is not None  # the loop always checkpoints its last step
    return metrics, final
