"""What a runner gives the training loop: where it runs and how it reports.

The loop is written once; each runner (local, Ray Train, Ray Tune) supplies a WorkerContext.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from pathlib import Path
from typing import Any

import torch
from torch import nn

ATTEMPT_KEY = "attempt"
RESUMED_FROM_KEY = "resumed_from"
"""A progress report carrying these two says the workers were restarted (attempt n, from step k)."""


class WorkerContext(ABC):
    """One worker's view of the run."""

    rank: int = 0
    world_size: int = 1
    device: torch.device = torch.device("cpu")
    best_dir: str | None = None
    """Where the chief keeps the best checkpoint (train.keep_best): a folder or s3:// prefix
    beside the run's checkpoints, out of their pruning. None: this runner keeps none."""

    @property
    def is_chief(self) -> bool:
        """Rank 0 tracks, samples and evaluates."""
        return self.rank == 0

    def wrap(self, module: nn.Module, *, broadcast_buffers: bool = True) -> nn.Module:
        """Moves `module` to the device and, with several workers, wraps it for DDP."""
        return module.to(self.device)

    @abstractmethod
    def latest_checkpoint(self) -> Path | None:
        """Directory of the checkpoint to resume from, if any."""

    @abstractmethod
    def report(self, metrics: dict[str, Any], checkpoint_dir: Path | None) -> None:
        """Hands metrics and (maybe) a checkpoint directory to the runner. Every rank calls it."""

    def progress(self, step: int, metrics: dict[str, float]) -> None:  # noqa: B027
        """Chief only: live progress for the user's terminal (default: nothing)."""

    def started(self, step: int) -> None:  # noqa: B027
        """Chief only, as an attempt begins at `step` (0: from scratch): a runner that restarts
        its workers after a failure tells the user (default: nothing)."""
