"""The Ray Tune runner: a single-worker trial runs the loop directly as a function trainable.

Starting a TorchTrainer per trial costs tens of seconds on a small machine, so a one-worker
trial calls `train_loop` in the trial's own process. Trial parameters are dotted config keys
applied through the same `apply_overrides` as `--set`.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import ray.tune
import torch

from ganforge.platform.config.loading import apply_overrides, load_job_dict
from ganforge.platform.runners.context import WorkerContext
from ganforge.platform.runners.loop import train_loop
from ganforge.platform.tracking.stream import TrackingTarget

JOB_KEY = "job"
TARGET_KEY = "tracking_target"


class TuneContext(WorkerContext):
    """One worker inside a Tune trial; checkpoints go through Tune so PBT/PB2 can exploit them."""

    def __init__(self) -> None:
        self.device = torch.device("cuda" if torch.cuda.is_available() else "cpu")

    def latest_checkpoint(self) -> Path | None:
        checkpoint = ray.tune.get_checkpoint()
        return Path(checkpoint.to_directory()) if checkpoint is not None else None

    def report(self, metrics: dict[str, Any], checkpoint_dir: Path | None) -> None:
        checkpoint = ray.tune.Checkpoint.from_directory(str(checkpoint_dir)) if checkpoint_dir else None
        ray.tune.report(metrics, checkpoint=checkpoint)


def trial_job(config: dict[str, Any]):  # noqa: ANN201 (JobConfig; kept import-light)
    """The trial's JobConfig: the base job with every dotted trial parameter applied."""
    params = {key: value for key, value in config.items() if key not in (JOB_KEY, TARGET_KEY)}
    return load_job_dict(apply_overrides(config[JOB_KEY], params), source="trial")


def tune_trainable(config: dict[str, Any]) -> None:
    """Function trainable: `config` holds the base job under "job" plus dotted trial parameters."""
    target: TrackingTarget | None = config.get(TARGET_KEY)
    train_loop(trial_job(config), TuneContext(), target)
