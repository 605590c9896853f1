"""MetricStream: metrics never wait behind sample uploads, and a failed upload cannot hang or fail a run.

A real MLflow SQLite store; only the artifact calls are broken (ConnectionError, which
storage/retry.py counts as transient, so it is retried until the upload's deadline).
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from pathlib import Path

import pytest
from mlflow.tracking import MlflowClient
from PIL import Image

from ganforge.platform.modality.contract import SampleArtifacts
from ganforge.platform.storage.retry import retry
from ganforge.platform.tracking import stream as stream_module
from ganforge.platform.tracking.stream import FAILED_UPLOADS_TAG, MetricStream, TrackingTarget

WAIT_S = 30.0  # generous bound for background work on a busy 2-core machine


@pytest.fixture(scope="module")
def store(tmp_path_factory: pytest.TempPathFactory) -> tuple[str, str]:
    """One SQLite tracking store and experiment for the module (creating it migrates a database)."""
    folder = tmp_path_factory.mktemp("mlflow")
    uri = f"sqlite:///{folder / 'mlflow.db'}"
    experiment = MlflowClient(tracking_uri=uri).create_experiment(
        "stream", artifact_location=(folder / "artifacts").as_uri()
    )
    return uri, experiment


@pytest.fixture
def target(store: tuple[str, str]) -> TrackingTarget:
    uri, experiment = store
    run = MlflowClient(tracking_uri=uri).create_run(experiment)
    return TrackingTarget(uri=uri, run_id=run.info.run_id)


@pytest.fixture
def short_deadline(monkeypatch: pytest.MonkeyPatch) -> float:
    monkeypatch.setattr(stream_module, "UPLOAD_DEADLINE_S", 1.0)
    return 1.0


def _samples(folder: Path, colour: tuple[int, int, int] = (200, 30, 30)) -> tuple[SampleArtifacts, Path]:
    folder.mkdir(parents=True)
    path = folder / "samples.png"
    Image.new("RGB", (8, 8), colour).save(path)
    return SampleArtifacts(images={"samples": path}), folder


def _steps(target: TrackingTarget, key: str = "loss") -> list[int]:
    history = MlflowClient(tracking_uri=target.uri).get_metric_history(target.run_id, key)
    return [metric.step for metric in history]


def _until(condition: Callable[[], bool], what: str) -> None:
    ends = time.monotonic() + WAIT_S
    while not condition():
        assert time.monotonic() < ends, f"timed out waiting for {what}"
        time.sleep(0.05)


def _broken_uploads(
    stream: MetricStream, monkeypatch: pytest.MonkeyPatch, hold: threading.Event | None = None
):
    """Every log_image call raises ConnectionError (after `hold` is set, when given); returns the calls."""
    calls: list[int] = []

    def refuse(run_id: str, image: object, key: str, step: int) -> None:
        calls.append(step)
        if hold is not None:
            assert hold.wait(WAIT_S)
        raise ConnectionError("connection refused by the S3 endpoint\n(second line, not shown)")

    monkeypatch.setattr(stream._client, "log_image", refuse)
    return calls


def test_metrics_arrive_while_an_upload_hangs(
    target: TrackingTarget,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
    short_deadline: float,
) -> None:
    stream = MetricStream(target)
    hold = threading.Event()
    calls = _broken_uploads(stream, monkeypatch, hold)
    stream.log_metrics(1, {"loss": 1.0})
    samples, folder = _samples(tmp_path / "step2")
    stream.log_samples(2, samples, folder)
    for step in range(2, 6):
        stream.log_metrics(step, {"loss": 1.0 / step})

    _until(lambda: _steps(target) == [1, 2, 3, 4, 5], "the metrics logged after the upload")
    assert calls == [2] and not stream.failed_uploads  # the upload is still stuck

    with caplog.at_level(logging.WARNING, logger="ganforge.storage"):
        hold.set()
        stream.close()
    assert stream.failed_uploads == ("step 2 samples.png",)
    assert not folder.exists()
    lines = [r.getMessage() for r in caplog.records if r.getMessage().startswith("sample upload failed")]
    assert len(lines) == 1
    assert "step 2, file samples.png: ConnectionError: connection refused by the S3 endpoint" in lines[0]
    assert "second line" not in lines[0]
    run = MlflowClient(tracking_uri=target.uri).get_run(target.run_id)
    assert run.data.tags[FAILED_UPLOADS_TAG] == "step 2 samples.png"
    assert _steps(target) == [1, 2, 3, 4, 5]


def test_a_failing_upload_is_retried_until_its_deadline_then_dropped(
    target: TrackingTarget,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
    short_deadline: float,
) -> None:
    stream = MetricStream(target)
    calls = _broken_uploads(stream, monkeypatch)
    samples, folder = _samples(tmp_path / "step10")
    started = time.monotonic()
    with caplog.at_level(logging.WARNING, logger="ganforge.storage"):
        stream.log_samples(10, samples, folder)
        for step in (10, 20, 30):
            stream.log_metrics(step, {"loss": float(step)})
        stream.close()
    elapsed = time.monotonic() - started

    assert len(calls) >= 2  # retried, not given up at once
    assert elapsed < short_deadline + 5.0  # bounded by the deadline (plus slack for a busy machine)
    assert stream.failed_uploads == ("step 10 samples.png",)
    assert any("step 10, file samples.png: ConnectionError" in r.getMessage() for r in caplog.records)
    assert _steps(target) == [10, 20, 30]
    run = MlflowClient(tracking_uri=target.uri).get_run(target.run_id)
    assert run.data.tags[FAILED_UPLOADS_TAG] == "step 10 samples.png"
    assert run.data.metrics["loss"] == 30.0


def test_after_a_failure_uploads_try_once_and_those_queued_at_close_are_skipped(
    target: TrackingTarget, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, short_deadline: float
) -> None:
    stream = MetricStream(target)
    _broken_uploads(stream, monkeypatch)
    stream.log_samples(10, *_samples(tmp_path / "step10"))
    _until(lambda: len(stream.failed_uploads) == 1, "the first upload to fail")

    hold = threading.Event()
    calls = _broken_uploads(stream, monkeypatch, hold)
    stream.log_samples(20, *_samples(tmp_path / "step20"))
    _until(lambda: calls == [20], "step 20's upload to start")  # in flight before close begins
    queued = _samples(tmp_path / "step30")
    stream.log_samples(30, *queued)
    closing = threading.Thread(target=stream.close)
    closing.start()
    _until(lambda: stream._closing, "close to begin")
    hold.set()
    closing.join(WAIT_S)
    assert not closing.is_alive()

    assert calls == [20]  # one attempt while the store is down; step 30 never tried
    assert stream.failed_uploads == ("step 10 samples.png", "step 20 samples.png", "step 30 all files")
    assert not queued[1].exists()
    tag = MlflowClient(tracking_uri=target.uri).get_run(target.run_id).data.tags[FAILED_UPLOADS_TAG]
    assert tag == "step 10 samples.png, step 20 samples.png, step 30 all files"


def test_a_metrics_failure_still_fails_the_run_at_close(
    target: TrackingTarget, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    stream = MetricStream(target)

    def reject(*args: object, **kwargs: object) -> None:
        raise ValueError("metric rejected by the store")  # not transient: no retry

    monkeypatch.setattr(stream._client, "log_batch", reject)
    stream.log_metrics(1, {"loss": 1.0})
    stream.log_samples(1, *_samples(tmp_path / "step1"))  # uploads fine, on its own queue
    with pytest.raises(ValueError, match="metric rejected"):
        stream.close()
    client = MlflowClient(tracking_uri=target.uri)
    assert [item.path for item in client.list_artifacts(target.run_id)] == ["images"]
    assert FAILED_UPLOADS_TAG not in client.get_run(target.run_id).data.tags


def test_each_image_also_lands_in_a_latest_card_that_shows_the_newest(
    target: TrackingTarget, tmp_path: Path
) -> None:
    stream = MetricStream(target)
    stream.log_samples(10, *_samples(tmp_path / "step10", (255, 0, 0)))
    stream.log_samples(20, *_samples(tmp_path / "step20", (0, 0, 255)))
    stream.close()
    client = MlflowClient(tracking_uri=target.uri)
    # As MLflow's UI reads them: images/<key with ~ for />+step+S+timestamp+T+uuid[+compressed].png|webp
    names = [a.path.split("/")[-1] for a in client.list_artifacts(target.run_id, "images")]
    full = [n.split("+") for n in names if n.endswith(".png")]
    assert sorted((parts[0], parts[2]) for parts in full) == [
        ("latest~samples", "0"),
        ("latest~samples", "0"),
        ("samples", "10"),
        ("samples", "20"),
    ]
    # One step for the latest card (so the UI opens it there); of its files, the UI keeps the one
    # listed last, which must be the newest (step 20's blue image).
    last = [n for n in names if n.startswith("latest~samples") and n.endswith(".png")][-1]
    local = client.download_artifacts(target.run_id, f"images/{last}", str(tmp_path / "down"))
    with Image.open(local) as image:
        assert image.getpixel((0, 0)) == (0, 0, 255)


def test_cancel_stops_a_retrying_upload_promptly(
    target: TrackingTarget, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(stream_module, "UPLOAD_DEADLINE_S", 60.0)
    stream = MetricStream(target)
    calls = _broken_uploads(stream, monkeypatch)
    samples, folder = _samples(tmp_path / "step5")
    stream.log_samples(5, samples, folder)
    _until(lambda: bool(calls), "the upload to start")
    started = time.monotonic()
    stream.close(cancel=True)
    assert time.monotonic() - started < 15.0  # at most one backoff, not the 60 s deadline
    assert stream.failed_uploads == ()
    assert not folder.exists()


def test_retry_gives_up_within_its_deadline() -> None:
    calls: list[float] = []

    def refuse() -> None:
        calls.append(time.monotonic())
        raise ConnectionError("refused")

    started = time.monotonic()
    with pytest.raises(ConnectionError):
        retry(refuse, "connect", attempts=1000, base_delay_s=0.05, max_delay_s=0.2, deadline_s=1.0)
    assert time.monotonic() - started < 1.0
    assert len(calls) >= 3  # retried until the deadline, not once and not 1000 times
    assert len(calls) < 1000


def test_retry_succeeds_within_its_deadline() -> None:
    outcomes = iter([ConnectionError("refused"), ConnectionError("refused"), "ok"])

    def flaky() -> str:
        outcome = next(outcomes)
        if isinstance(outcome, Exception):
            raise outcome
        return outcome

    assert retry(flaky, "connect", base_delay_s=0.01, deadline_s=5.0) == "ok"
