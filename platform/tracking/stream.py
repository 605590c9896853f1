"""Rank 0's metric and sample stream to MLflow, off the training step's thread."""

from __future__ import annotations

import shutil
import time
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

from mlflow.entities import Metric
from mlflow.tracking import MlflowClient


@dataclass(frozen=True)
class TrackingTarget:
    """Where a worker logs: picklable, so it travels to Ray workers."""

    uri: str
    run_id: str


class MetricStream:
    """Queues MLflow calls on one background thread, in order; `close` waits for them.

    One thread (not MLflow's own async batching) because samples are artifact uploads and
    must follow the metrics in order; the step only pays for putting a call on the queue.
    """

    def __init__(self, target: TrackingTarget) -> None:
        self.target = target
        self._client = MlflowClient(tracking_uri=target.uri)
        self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="ganforge-mlflow")
        self._pending: list[Future] = []

    def log_metrics(self, step: int, values: dict[str, float]) -> None:
        stamp = int(time.time() * 1000)
        metrics = [Metric(key, float(value), stamp, step) for key, value in values.items()]
        self._submit(self._client.log_batch, self.target.run_id, metrics=metrics)

    def log_samples(self, step: int, directory: Path) -> None:
        """Uploads the files in `directory` under samples/step_XXXXXXX and deletes the folder."""
        self._submit(self._upload, directory, f"samples/step_{step:07d}")

    def _upload(self, directory: Path, artifact_path: str) -> None:
        try:
            self._client.log_artifacts(self.target.run_id, str(directory), artifact_path)
        finally:
            shutil.rmtree(directory, ignore_errors=True)

    def _submit(self, fn, *args, **kwargs) -> None:  # noqa: ANN001
        self._pending = [f for f in self._pending if not f.done() or f.exception()]
        self._pending.append(self._pool.submit(fn, *args, **kwargs))

    def close(self) -> None:
        """Waits for queued calls; raises the first error a call met."""
        self._pool.shutdown(wait=True)
        for future in self._pending:
            future.result()
