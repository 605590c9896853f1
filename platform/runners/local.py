"""The in-process runner: the loop in this Python process, checkpoints in a local folder."""

from __future__ import annotations

import os
import re
import shutil
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import torch

from ganforge.platform.config.schema import JobConfig
from ganforge.platform.runners.context import WorkerContext
from ganforge.platform.runners.loop import train_loop
from ganforge.platform.tracking.stream import TrackingTarget

ProgressFn = Callable[[int, dict[str, float]], None]

_CHECKPOINT_NAME = re.compile(r"checkpoint_(\d+)")
BEST_DIR = "best"


class LocalContext(WorkerContext):
    """Single worker; checkpoints are folders `checkpoint_XXXXXXX` under `checkpoint_root`.

    With `keep`, only the newest `keep` folders stay: older ones are deleted once a new one is
    complete, never the folder the run resumed from. The best checkpoint (train.keep_best) is
    `checkpoint_root/best`, which pruning does not touch.
    """

    def __init__(
        self,
        checkpoint_root: Path,
        resume_from: Path | None = None,
        on_progress: ProgressFn | None = None,
        keep: int | None = None,
    ) -> None:
        self.checkpoint_root = checkpoint_root
        self.resume_from = resume_from
        self.on_progress = on_progress
        self.keep = keep
        self.best_dir = str(checkpoint_root / BEST_DIR)
        self.reports: list[dict[str, Any]] = []

    def latest_checkpoint(self) -> Path | None:
        if self.resume_from is not None:
            return self.resume_from
        return latest_checkpoint_in(self.checkpoint_root)

    def report(self, metrics: dict[str, Any], checkpoint_dir: Path | None) -> None:
        self.reports.append(metrics)
        if checkpoint_dir is not None:
            _publish(checkpoint_dir, self.checkpoint_root / f"checkpoint_{int(metrics['step']):07d}")
            if self.keep is not None:
                prune_checkpoints(self.checkpoint_root, self.keep, protect=self.resume_from)

    def progress(self, step: int, metrics: dict[str, float]) -> None:
        if self.on_progress is not None:
            self.on_progress(step, metrics)


def _publish(source: Path, target: Path) -> None:
    """Copies `source` to `target` under a hidden name first, so `target` only ever appears whole."""
    partial = target.with_name(f".{target.name}.partial")
    shutil.rmtree(partial, ignore_errors=True)  # left by a run killed mid-copy
    shutil.copytree(source, partial)
    if target.exists():  # the same step written again (a rerun into the same folder)
        shutil.rmtree(target)
    partial.rename(target)


def checkpoints_in(root: Path) -> list[Path]:
    """The `checkpoint_<step>` folders under `root`, oldest step first."""
    if not root.exists():
        return []
    found = [
        (int(match.group(1)), path)
        for path in root.iterdir()
        if path.is_dir() and (match := _CHECKPOINT_NAME.fullmatch(path.name))
    ]
    return [path for _, path in sorted(found)]


def latest_checkpoint_in(root: Path) -> Path | None:
    """The newest `checkpoint_*` folder under `root`, if any."""
    found = checkpoints_in(root)
    return found[-1] if found else None


def prune_checkpoints(root: Path, keep: int, protect: Path | None = None) -> list[Path]:
    """Deletes all but the newest `keep` checkpoint folders under `root`; returns what it deleted.

    The newest folder (the one a resume would use) always stays, and so does `protect`.
    """
    found = checkpoints_in(root)
    stale = found[: -max(keep, 1)]
    kept = protect.resolve() if protect is not None else None
    removed = [path for path in stale if path.resolve() != kept]
    for path in removed:
        shutil.rmtree(path)
    return removed


def _cpus_here() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        return os.cpu_count() or 1


@contextmanager
def torch_threads(count: int) -> Iterator[None]:
    """torch uses `count` threads (at most the CPUs this process may use) inside the block only."""
    before = torch.get_num_threads()
    torch.set_num_threads(max(1, min(count, _cpus_here())))
    try:
        yield
    finally:
        torch.set_num_threads(before)


def run_local(
    job: JobConfig,
    checkpoint_root: Path,
    target: TrackingTarget | None = None,
    on_progress: ProgressFn | None = None,
    resume_from: Path | None = None,
) -> tuple[dict[str, float], Path]:
    """Trains in this process; returns the final metrics and the final checkpoint's folder.

    Like a Ray worker, the run uses `train.cpus_per_worker` torch threads (the caller's setting is
    restored afterwards) and keeps only the newest `train.keep_checkpoints` checkpoints.
    """
    ctx = LocalContext(checkpoint_root, resume_from, on_progress, keep=job.train.keep_checkpoints)
    with torch_threads(job.train.cpus_per_worker):
        metrics = train_loop(job, ctx, target)
    final = latest_checkpoint_in(checkpoint_root)
    assert final is not None  # the loop always checkpoints its last step
    return metrics, final
