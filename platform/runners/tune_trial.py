"""The Ray Tune runner: the loop as a Tune function trainable.

A one-worker trial calls `train_loop` in the trial's own process (starting a TorchTrainer per
trial costs tens of seconds on a small machine); a multi-worker trial nests a TorchTrainer whose
reports and checkpoints are forwarded to Tune. Trial parameters are dotted config keys applied
through the same `apply_overrides` as `--set`. Each trial logs to its own MLflow run, nested
under the sweep's parent run.
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
SWEEP_KEY = "ganforge_sweep"
"""{"uri", "experiment_id", "parent_run_id"}: where the trial's child run goes."""
BEST_ROOT_KEY = "ganforge_best_root"
"""The sweep's folder for best checkpoints: trial T keeps its best in `<root>/<T's id>`."""
RESERVED = (JOB_KEY, TARGET_KEY, SWEEP_KEY, BEST_ROOT_KEY)


class TuneContext(WorkerContext):
    """One worker inside a Tune trial; checkpoints go through Tune so PBT/PB2 can exploit them."""

    def __init__(self, best_dir: str | None = None) -> None:
        self.device = torch.device("cuda" if torch.cuda.is_available() else "cpu")
        self.best_dir = best_dir

    def latest_checkpoint(self) -> Path | None:
        checkpoint = ray.tune.get_checkpoint()
        return Path(checkpoint.to_directory()) if checkpoint is not None else None

    def report(self, metrics: dict[str, Any], checkpoint_dir: Path | None) -> None:
        checkpoint = ray.tune.Checkpoint.from_directory(str(checkpoint_dir)) if checkpoint_dir else None
        ray.tune.report(metrics, checkpoint=checkpoint)


def trial_params(config: dict[str, Any]) -> dict[str, Any]:
    """The trial's sampled (or PBT-mutated) dotted parameters."""
    return {key: value for key, value in config.items() if key not in RESERVED}


def trial_job(config: dict[str, Any]):  # noqa: ANN201 (JobConfig; kept import-light)
    """The trial's JobConfig: the base job with every dotted trial parameter applied."""
    return load_job_dict(apply_overrides(config[JOB_KEY], trial_params(config)), source="trial")


def _best_dir(config: dict[str, Any]) -> str | None:
    """The trial's own best-checkpoint folder under the sweep's (Tune's CheckpointConfig keeps
    the last k of the trial's checkpoints; this one is out of its reach)."""
    root = config.get(BEST_ROOT_KEY)
    return f"{root.rstrip('/')}/{ray.tune.get_context().get_trial_id()}" if root else None


def _run_nested_trainer(job: Any, target: TrackingTarget | None, best_dir: str | None) -> None:
    """Multi-worker trial: a TorchTrainer inside the trial, its reports forwarded to Tune."""
    from ray.tune.integration.ray_train import TuneReportCallback

    from ganforge.platform.runners.ray_train import run_ray_train

    checkpoint = ray.tune.get_checkpoint()
    context = ray.tune.get_context()
    run_ray_train(
        job,
        storage_path=str(Path(context.get_trial_dir()) / "train"),
        run_name=f"{context.get_trial_id()}-train",
        target=target,
        callbacks=[TuneReportCallback()],
        resume_from=checkpoint,
        best_dir=best_dir,
    )


def tune_trainable(config: dict[str, Any]) -> None:
    """Function trainable: `config` holds the base job under "job" plus dotted trial parameters."""
    job = trial_job(config)
    sweep = config.get(SWEEP_KEY)
    target: TrackingTarget | None = config.get(TARGET_KEY)
    if sweep is not None and job.tracking.enabled:
        from ganforge.platform.tracking.sweep_runs import open_trial_run

        context = ray.tune.get_context()
        target = open_trial_run(sweep, job, context.get_trial_id(), trial_params(config))
    try:
        if job.train.workers > 1:
            _run_nested_trainer(job, target, _best_dir(config))
        else:
            train_loop(job, TuneContext(_best_dir(config)), target)
    except BaseException as error:
        if target is not None and sweep is not None:
            from ganforge.platform.tracking.run import finish_run

            finish_run(target, ok=False, reason=f"{type(error).__name__}: {error}")
        raise
    if target is not None and sweep is not None:
        from ganforge.platform.tracking.run import finish_run

        finish_run(target, ok=True)
