"""Rank 0's metric and sample stream to MLflow, off the training step's thread."""

from __future__ import annotations

import logging
import shutil
import time
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from functools import partial
from pathlib import Path

from mlflow.entities import Metric
from mlflow.tracking import MlflowClient
from PIL import Image

from ganforge.platform.modality.contract import SampleArtifacts
from ganforge.platform.storage import retry
from ganforge.platform.tracking.runs_view import add_images, safely

log = logging.getLogger("ganforge.storage")

# One budget, in seconds, for all the files of one step's samples, retries and backoff included.
# Long enough to outlast an endpoint that pauses or restarts (tens of seconds), short enough that a
# dead endpoint costs a couple of minutes per step, not the 20 minutes that five full attempts of
# MLflow's own retrying took in issue 19. How the budgets combine: this deadline only decides
# whether another ganforge attempt starts; each attempt keeps its library's inner retries, which
# run to their end: botocore's `standard` mode with AWS_MAX_ATTEMPTS=8 (the job's settings,
# platform/settings.py `JobSettings`: up to 8 tries, backoff capped at 20 s, plus connect and
# read timeouts) for direct S3, or MLflow's HTTP client (MLFLOW_HTTP_REQUEST_MAX_RETRIES=7,
# backoff factor 2: about 4.3 minutes) for a proxied store. One step's upload thus ends within
# this deadline plus one attempt's inner budget.
UPLOAD_DEADLINE_S = 120.0
# Enough attempts that the deadline, not the count, ends the retries.
UPLOAD_ATTEMPTS = 100
# MLflow 3.17's image card opens on step 0 (`RunsChartsImageCardConfig.step = 0`, in the UI's
# JavaScript) and moves by itself only when the key has exactly one step. So each image is also
# logged as `latest/<key>`, always at step LATEST_STEP: a card with one step, in a "latest"
# section at the top of the run's charts, that shows the newest image (of one key and step, the
# UI keeps the file listed last, and the files' names sort by their millisecond timestamps).
# `<key>` itself keeps the history, to scrub with the card's step slider.
LATEST_PREFIX = "latest/"
LATEST_STEP = 0
FAILED_UPLOADS_TAG = "ganforge.failed_uploads"
ATTEMPTS_TAG = "ganforge.attempts"
_TAG_MAX_CHARS = 500


class _Cancelled(Exception):
    """Raised in place of an upload call once the stream is cancelled (not transient: no retry)."""


class ArtifactStoreDown(Exception):
    """An upload left untried at close because an earlier one failed for good."""


@dataclass(frozen=True)
class TrackingTarget:
    """Where a worker logs: picklable, so it travels to Ray workers."""

    uri: str
    run_id: str


class MetricStream:
    """Queues MLflow calls on two background threads; `close` waits for both.

    Metrics and tags go on one thread, sample uploads on another, each in its own order, so a
    slow or dead artifact store never holds back the metric history (issue 19); the step only
    pays for putting a call on a queue. Each call is retried on transient errors
    (storage/retry.py). A metric or tag call that still fails fails the run at `close`, rather
    than leaving a silent gap in its history. A sample upload has one deadline for all its files
    (`UPLOAD_DEADLINE_S`); one that still fails is logged on one line (step, file, reason), its
    samples are dropped, training goes on, and `close` tags the run with the failed uploads.
    After such a failure, later uploads make one attempt each until one succeeds, and those
    still queued at `close` are not tried, so a dead endpoint cannot hold the run's end.
    """

    def __init__(self, target: TrackingTarget) -> None:
        self.target = target
        self._client = MlflowClient(tracking_uri=target.uri)
        self._metrics = ThreadPoolExecutor(max_workers=1, thread_name_prefix="ganforge-mlflow")
        self._samples = ThreadPoolExecutor(max_workers=1, thread_name_prefix="ganforge-samples")
        self._pending: list[Future] = []  # metric and tag calls; uploads report their own failures
        self._logged_through = 0
        self._failed_uploads: list[str] = []
        self._store_down = False  # the last upload failed for good (touched by the samples thread)
        self._closing = False
        self._cancelled = False
        self._viewed_images = False  # the experiment's saved view shows this run's image keys

    @property
    def failed_uploads(self) -> tuple[str, ...]:
        """The sample uploads that failed for good, as `step N file` (complete after `close`)."""
        return tuple(self._failed_uploads)

    def resume(self) -> int:
        """At the start of an attempt: skip the steps this run already logged.

        After a failure, the steps between the last checkpoint (or the start, when none was
        committed) and the failure were logged and are trained again; logging them twice would
        duplicate them in the metric history. Returns the last step already logged (0 for a new run).
        """
        client, run_id = self._client, self.target.run_id
        run = retry(lambda: client.get_run(run_id), "read run")
        steps = [step for key in run.data.metrics for step in self._logged_steps(key)]
        self._logged_through = max(steps, default=0)
        # Which attempt this is: 1, or more after Ray Train restarted the workers (or Tune a trial).
        attempts = int(run.data.tags.get(ATTEMPTS_TAG, "0")) + 1
        self.set_tags({ATTEMPTS_TAG: str(attempts)})
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
        self._samples.submit(self._upload, step, samples, directory)

    def _upload(self, step: int, samples: SampleArtifacts, directory: Path) -> None:
        """Uploads one step's samples within one deadline; a failure is recorded, never raised."""
        name, started = "all files", time.monotonic()
        try:
            if self._closing and self._store_down:
                raise ArtifactStoreDown("not tried: an earlier upload failed and the run is ending")
            deadline = time.monotonic() + UPLOAD_DEADLINE_S
            attempts = 1 if self._store_down else UPLOAD_ATTEMPTS
            for name, call in self._sample_calls(step, samples):
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    raise TimeoutError(f"its {UPLOAD_DEADLINE_S:g}s upload deadline passed")
                what = f"upload samples of step {step} ({name})"
                retry(self._unless_cancelled(call), what, attempts=attempts, deadline_s=remaining)
            self._store_down = False
            if samples.images and not self._viewed_images:  # once: the keys are the same every step
                self._viewed_images = True
                keys = sorted(samples.images)
                view = partial(add_images, self._client, self.target.run_id, keys)
                safely("add image keys to the saved view", view)
        except _Cancelled:
            pass  # the run is failing or interrupted: nothing to report
        except Exception as error:  # noqa: BLE001 - a sample upload must not fail the run
            self._upload_failed(step, name, error, time.monotonic() - started)
        finally:
            shutil.rmtree(directory, ignore_errors=True)

    def _sample_calls(self, step: int, samples: SampleArtifacts) -> list[tuple[str, Callable[[], object]]]:
        """(file name, the call that uploads it) for each file of one step's samples."""
        run_id, folder = self.target.run_id, f"samples/step_{step:07d}"
        calls: list[tuple[str, Callable[[], object]]] = []
        for key, path in samples.images.items():
            calls.append((path.name, partial(self._log_image, run_id, path, key, step)))
            latest = f"{LATEST_PREFIX}{key}"
            calls.append(
                (f"{latest} {path.name}", partial(self._log_image, run_id, path, latest, LATEST_STEP))
            )
        for path in samples.files:
            calls.append((path.name, partial(self._client.log_artifact, run_id, str(path), folder)))
        for name, columns in samples.tables.items():
            table = f"{folder}/{name}.json"
            calls.append((f"{name}.json", partial(self._client.log_table, run_id, columns, table)))
        return calls

    def _log_image(self, run_id: str, path: Path, key: str, step: int) -> None:
        with Image.open(path) as image:
            rgb = image.convert("RGB")
        self._client.log_image(run_id, rgb, key=key, step=step)

    def _unless_cancelled(self, call: Callable[[], object]) -> Callable[[], object]:
        def attempt() -> object:
            if self._cancelled:
                raise _Cancelled
            return call()

        return attempt

    def _upload_failed(self, step: int, name: str, error: Exception, elapsed_s: float) -> None:
        self._store_down = True
        self._failed_uploads.append(f"step {step} {name}")
        reason = next(iter(str(error).strip().splitlines()), "") or repr(error)
        log.warning(
            "sample upload failed after %.0fs: step %d, file %s: %s: %s (samples dropped; training goes on)",
            elapsed_s,
            step,
            name,
            type(error).__name__,
            reason,
        )

    def _submit(self, fn, *args, **kwargs) -> None:  # noqa: ANN001
        self._pending = [f for f in self._pending if not f.done() or f.exception()]
        self._pending.append(self._metrics.submit(fn, *args, **kwargs))

    def close(self, cancel: bool = False) -> None:
        """Waits for queued calls and raises the first error a metric or tag call met; with
        `cancel`, drops the calls not started yet and reports nothing (the run is failing anyway).

        A failed sample upload does not raise: the run keeps its metrics, and is tagged
        `ganforge.failed_uploads` (best effort) with the uploads that failed.
        """
        self._closing = True
        self._cancelled = cancel
        for pool in (self._metrics, self._samples):  # both queues drain (or drop) at once
            pool.shutdown(wait=False, cancel_futures=cancel)
        for pool in (self._metrics, self._samples):
            pool.shutdown(wait=True)
        if cancel:
            return
        metrics_failed = any(future.exception() for future in self._pending)
        if self._failed_uploads and not metrics_failed:
            self._tag_failed_uploads()
        for future in self._pending:
            future.result()

    def _tag_failed_uploads(self) -> None:
        """Best effort: the tracking store answered the metrics, so one short try."""
        value = ", ".join(self._failed_uploads)
        if len(value) > _TAG_MAX_CHARS:
            value = value[: _TAG_MAX_CHARS - 3] + "..."
        client, run_id = self._client, self.target.run_id
        try:
            retry(lambda: client.set_tag(run_id, FAILED_UPLOADS_TAG, value), "tag failed uploads", attempts=2)
        except Exception as error:  # noqa: BLE001 - the failures are in the log already
            log.warning("could not tag the run with its failed uploads: %s: %s", type(error).__name__, error)
