"""Rank 0's metric and sample stream to MLflow, off the training step's thread."""

from __future__ import annotations

import shutil
import time
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

from mlflow.entities import Metric
from mlflow.tracking import MlflowClient
from PIL import Image

from ganforge.platform.modality.contract import SampleArtifacts
from ganforge.platform.storage import retry


@dataclass(frozen=True)
class TrackingTarget:
    """Where a worker logs: picklable, so it travels to Ray workers."""

    uri: str
    run_id: str


class MetricStream:
    """Queues MLflow calls on one background thread, in order; `close` waits for them.

    One thread (not MLflow's own async batching) because samples are artifact uploads and
    must follow the metrics in order; the step only pays for putting a call on the queue.
    Each call is retried on transient errors (storage/retry.py); one that still fails fails
    the run at `close`, rather than leaving a silent gap in its history.
    """

    def __init__(self, target: TrackingTarget) -> None:
        self.target = target
        self._client = MlflowClient(tracking_uri=target.uri)
        self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="ganforge-mlflow")
        self._pending: list[Future] = []
        self._logged_through = 0

    def resume(self) -> int:
        """At the start of an attempt: skip the steps this run already logged.

        After a failure, the steps between the last checkpoint (or the start, when none was
        committed) and the failure were logged and are trained again; logging them twice would
        duplicate them in the metric history. Returns the last step already logged (0 for a new run).
        """
        client, run_id = self._client, self.target.run_id
        keys = retry(lambda: client.get_run(run_id), "read run").data.metrics.keys()
        steps = [step for key in keys for step in self._logged_steps(key)]
        self._logged_through = max(steps, default=0)
        return self._logged_through

    def _logged_steps(self, key: str) -> list[int]:
        history = retry(lambda: self._client.get_metric_history(self.target.run_id, key), "read metric")
        return [metric.step for metric in history]

    def log_metrics(self, step: int, values: dict[str, float]) -> None:
        if step <= self._logged_through:
            return
        stamp = int(time.time() * 1000)
        metrics = [Metric(key, float(value), stamp, step) for key, value in values.items()]
        self._submit(
            retry, lambda: self._client.log_batch(self.target.run_id, metrics=metrics), "log metrics"
        )

    def set_tags(self, tags: dict[str, str]) -> None:
        """Tags the run (e.g. which metric model its metrics were computed with)."""
        self._submit(
            retry,
            lambda: [self._client.set_tag(self.target.run_id, k, v) for k, v in tags.items()],
            "tag the run",
        )

    def log_samples(self, step: int, samples: SampleArtifacts, directory: Path) -> None:
        """Logs one batch of samples at `step`, then deletes `directory` (where its files are)."""
        if step <= self._logged_through:
            shutil.rmtree(directory, ignore_errors=True)
            return
        self._submit(self._upload, step, samples, directory)

    def _upload(self, step: int, samples: SampleArtifacts, directory: Path) -> None:
        run_id, folder = self.target.run_id, f"samples/step_{step:07d}"
        try:
            for key, path in samples.images.items():
                with Image.open(path) as image:
                    rgb = image.convert("RGB")
                retry(lambda: self._client.log_image(run_id, rgb, key=key, step=step), "log image")  # noqa: B023
            for path in samples.files:
                retry(lambda: self._client.log_artifact(run_id, str(path), folder), "log sample")  # noqa: B023
            for name, columns in samples.tables.items():
                table = f"{folder}/{name}.json"
                retry(lambda: self._client.log_table(run_id, columns, table), "log table")  # noqa: B023
        finally:
            shutil.rmtree(directory, ignore_errors=True)

    def _submit(self, fn, *args, **kwargs) -> None:  # noqa: ANN001
        self._pending = [f for f in self._pending if not f.done() or f.exception()]
        self._pending.append(self._pool.submit(fn, *args, **kwargs))

    def close(self, cancel: bool = False) -> None:
        """Waits for queued calls and raises the first error a call met; with `cancel`, drops
        the calls not started yet and reports nothing (the run is failing anyway)."""
        self._pool.shutdown(wait=True, cancel_futures=cancel)
        if cancel:
            return
        for future in self._pending:
            future.result()
