"""The Ray Train runner: the same loop in N TorchTrainer workers (DDP), resumable on failure."""

from __future__ import annotations

import tempfile
import threading
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import ray
import ray.train
import ray.train.torch
from ray.train import CheckpointConfig, FailureConfig, RunConfig, ScalingConfig
from ray.train.torch import TorchTrainer
from torch import nn

from ganforge.platform.config.loading import load_job_dict
from ganforge.platform.config.schema import JobConfig
from ganforge.platform.runners.context import ATTEMPT_KEY, RESUMED_FROM_KEY, WorkerContext
from ganforge.platform.runners.loop import train_loop
from ganforge.platform.storage.s3 import arrow_storage
from ganforge.platform.tracking.stream import TrackingTarget

ProgressFn = Callable[[int, dict[str, float]], None]


@ray.remote(num_cpus=0)
class ProgressRelay:
    """Carries rank 0's progress to the driver, whose terminal shows the bar.

    Worker output itself stays out of the user's terminal (log_to_driver=False).
    """

    def __init__(self) -> None:
        self._items: list[tuple[int, dict[str, float]]] = []
        self._attempts = 0

    def push(self, step: int, metrics: dict[str, float]) -> None:
        self._items.append((step, metrics))

    def started(self, step: int) -> None:
        """Rank 0 began an attempt at `step`; from the second on, the driver is told."""
        self._attempts += 1
        if self._attempts > 1:
            self._items.append((step, {ATTEMPT_KEY: float(self._attempts), RESUMED_FROM_KEY: float(step)}))

    def drain(self) -> list[tuple[int, dict[str, float]]]:
        items, self._items = self._items, []
        return items


class RayTrainContext(WorkerContext):
    def __init__(self, relay: Any | None, best_dir: str | None = None) -> None:
        context = ray.train.get_context()
        self.best_dir = best_dir
        self.rank = context.get_world_rank()
        self.world_size = context.get_world_size()
        self.device = ray.train.torch.get_device()
        self.relay = relay
        self._restored: tempfile.TemporaryDirectory | None = None

    def wrap(self, module: nn.Module, *, broadcast_buffers: bool = True) -> nn.Module:
        return ray.train.torch.prepare_model(
            module, parallel_strategy_kwargs={"broadcast_buffers": broadcast_buffers}
        )

    def latest_checkpoint(self) -> Path | None:
        checkpoint = ray.train.get_checkpoint()
        if checkpoint is None:
            return None
        self._restored = tempfile.TemporaryDirectory(prefix="ganforge-restore-")
        return Path(checkpoint.to_directory(self._restored.name))

    def report(self, metrics: dict[str, Any], checkpoint_dir: Path | None) -> None:
        # Every rank passes its folder: Ray merges them, so each rank's random streams are kept.
        checkpoint = ray.train.Checkpoint.from_directory(str(checkpoint_dir)) if checkpoint_dir else None
        ray.train.report(metrics, checkpoint=checkpoint)

    def progress(self, step: int, metrics: dict[str, float]) -> None:
        if self.relay is not None:
            self.relay.push.remote(step, metrics)  # fire and forget: never waits on the driver

    def started(self, step: int) -> None:
        if self.relay is not None:
            self.relay.started.remote(step)


def _worker_entry(config: dict[str, Any]) -> None:
    job = load_job_dict(config["job"], source="job")
    train_loop(job, RayTrainContext(config.get("relay"), config.get("best_dir")), config.get("target"))


def _follow(relay: Any, on_progress: ProgressFn, stop: threading.Event) -> None:
    while not stop.wait(0.5):
        for step, metrics in ray.get(relay.drain.remote()):
            on_progress(step, metrics)


def run_ray_train(
    job: JobConfig,
    storage_path: str,
    run_name: str,
    target: TrackingTarget | None = None,
    on_progress: ProgressFn | None = None,
    callbacks: list[Any] | None = None,
    resume_from: ray.train.Checkpoint | None = None,
    worker_env: Mapping[str, str] | None = None,
    best_dir: str | None = None,
) -> tuple[dict[str, float], ray.train.Checkpoint]:
    """Runs the loop in `job.train.workers` Ray Train workers; returns final metrics and checkpoint.

    `callbacks` go on the RunConfig (a Tune trial forwards reports with TuneReportCallback);
    `resume_from` starts from a checkpoint (a PBT exploit's donor); `worker_env` is the job's
    settings for its workers (`JobSettings.env_vars`), over those Ray was started with: a second
    job in the same process may have its own. The best checkpoint (train.keep_best) goes to
    `best_dir`, by default `best/` in the run's folder beside Ray's `checkpoint_*` folders: Ray's
    CheckpointConfig keeps the last k there, and never sees (or prunes) this one.
    """
    best_dir = best_dir or f"{storage_path.rstrip('/')}/{run_name}/best"
    # Checkpoints on S3 (MinIO, AWS) survive the loss of a node; the endpoint is explicit.
    storage, filesystem = arrow_storage(storage_path, job.tracking.s3_endpoint_url)
    relay = ProgressRelay.remote() if on_progress else None
    trainer = TorchTrainer(
        _worker_entry,
        train_loop_config={"job": job.to_dict(), "target": target, "relay": relay, "best_dir": best_dir},
        scaling_config=ScalingConfig(
            num_workers=job.train.workers,
            use_gpu=job.train.use_gpu,
            resources_per_worker={"CPU": job.train.cpus_per_worker},
        ),
        run_config=RunConfig(
            name=run_name,
            storage_path=storage,
            storage_filesystem=filesystem,
            failure_config=FailureConfig(max_failures=job.train.max_failures),
            checkpoint_config=CheckpointConfig(num_to_keep=job.train.keep_checkpoints),
            callbacks=callbacks,
            worker_runtime_env={"env_vars": dict(worker_env)} if worker_env else None,
        ),
        resume_from_checkpoint=resume_from,
    )
    stop = threading.Event()
    follower = None
    if relay is not None and on_progress is not None:
        follower = threading.Thread(target=_follow, args=(relay, on_progress, stop), daemon=True)
        follower.start()
    try:
        result = trainer.fit()
    finally:
        stop.set()
        if follower is not None:
            follower.join(timeout=5)
    if relay is not None and on_progress is not None:
        for step, metrics in ray.get(relay.drain.remote()):
            on_progress(step, metrics)
    if result.checkpoint is None:
        raise RuntimeError("Ray Train finished without a checkpoint")
    return dict(result.metrics or {}), result.checkpoint
