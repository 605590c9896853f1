"""ganforge's saved view in the MLflow UI (issue 18): runs open best first with their metrics as
columns, and the charts show the newest samples without parameter text, then the quality curves.

A real MLflow SQLite store; the MLflow UI itself is read only as files (its JavaScript must still
read the keys the view is written with)."""

from __future__ import annotations

import json
from pathlib import Path

import mlflow
import pytest
from mlflow.tracking import MlflowClient
from PIL import Image

from ganforge.modalities.toy import MODALITY
from ganforge.platform.config import apply_overrides, load_job_dict
from ganforge.platform.modality.contract import SampleArtifacts
from ganforge.platform.tracking.run import start_run
from ganforge.platform.tracking.runs_view import (
    PRIMARY_GREATER_TAG,
    PRIMARY_METRIC_TAG,
    VIEW_QUERY,
    VIEW_TAG,
    read_view,
)
from ganforge.platform.tracking.store import ui_page
from ganforge.platform.tracking.stream import MetricStream, TrackingTarget

UI_JS = Path(mlflow.__file__).parent / "server" / "js" / "build" / "static" / "js"


@pytest.fixture(scope="module")
def uri(tmp_path_factory: pytest.TempPathFactory) -> str:
    """One store for the module (creating one migrates a database): its experiment `view` keeps
    its artifacts beside the database."""
    return f"sqlite:///{tmp_path_factory.mktemp('mlflow') / 'mlflow.db'}"


def _start(uri: str, changes: dict) -> str:
    artifacts = Path(uri.removeprefix("sqlite:///")).parent / "artifacts"
    tracking = {
        "tracking.uri": uri,
        "tracking.experiment": "view",
        "tracking.artifact_location": artifacts.as_uri(),
    }
    job = load_job_dict(apply_overrides(MODALITY.tiny_config(), {**tracking, **changes}))
    return start_run(job, "fingerprint", "local", changes=changes).run_id


def _state(client: MlflowClient, run_id: str) -> dict:
    experiment = client.get_experiment(client.get_run(run_id).info.experiment_id)
    envelope = json.loads(experiment.tags[VIEW_TAG])
    assert envelope["name"] == "ganforge: best quality first"
    return json.loads(envelope["state"])


def test_runs_open_best_first_with_metrics_and_changes_as_columns(uri: str) -> None:
    client = MlflowClient(tracking_uri=uri)
    _start(uri, {"train.seed": 2})
    run_id = _start(uri, {"gan.loss": "hinge"})  # a second run adds its column, drops none

    state = _state(client, run_id)
    assert (state["orderByKey"], state["orderByAsc"]) == ("metrics.`quality`", False)  # best first
    assert state["selectedColumns"] == [
        "attributes.`Models`",
        "metrics.`quality`",
        *(f"metrics.`{spec.name}`" for spec in MODALITY.metrics if spec.name != "quality"),
        "tags.`ganforge.best_step`",
        "tags.`ganforge.best.quality`",
        "tags.`ganforge.set.train.seed`",
        "tags.`ganforge.set.gan.loss`",
    ]
    assert state["columnOrder"][:2] == ["duration", "metrics.`quality`"]  # the ranking metric leads
    tags = client.get_experiment(client.get_run(run_id).info.experiment_id).tags
    assert (tags[PRIMARY_METRIC_TAG], tags[PRIMARY_GREATER_TAG]) == ("quality", "True")
    again = _start(uri, {"gan.loss": "hinge"})  # nothing new: the view is left as it is
    assert client.get_experiment(client.get_run(again).info.experiment_id).tags[VIEW_TAG] == tags[VIEW_TAG]
    assert ui_page("http://ui", "7", ranked=True).endswith(
        f"#/experiments/7/runs?workflowType=machine_learning&{VIEW_QUERY}"
    )


def test_charts_show_the_newest_samples_without_params_then_quality(uri: str, tmp_path: Path) -> None:
    client = MlflowClient(tracking_uri=uri)
    run_id = _start(uri, {"train.seed": 3})
    Image.new("RGB", (4, 4)).save(tmp_path / "samples.png")
    stream = MetricStream(TrackingTarget(uri=uri, run_id=run_id))
    stream.log_samples(3, SampleArtifacts(images={"samples": tmp_path / "samples.png"}), tmp_path / "gone")
    stream.close()

    state = _state(client, run_id)
    sections = [section["name"] for section in state["compareRunSections"]]
    assert sections == ["latest", "quality", "samples by step", "Model metrics", "System metrics"]
    by_section = {name: [] for name in sections}
    ids = {section["uuid"]: section["name"] for section in state["compareRunSections"]}
    for card in state["compareRunCharts"]:
        by_section[ids[card["metricSectionId"]]].append(card)
    latest = by_section["latest"]
    assert [(c["type"], c["imageKeys"], c["showRunParams"]) for c in latest] == [
        ("IMAGE", ["latest/samples"], False)
    ]
    assert [c["metricKey"] for c in by_section["quality"]][0] == "quality"
    assert {c["type"] for c in by_section["quality"]} == {"LINE"}
    assert read_view(client.get_experiment(client.get_run(run_id).info.experiment_id).tags).images == (
        "samples",
    )


def test_the_installed_mlflow_ui_reads_the_keys_the_view_is_written_with() -> None:
    """Guards an MLflow upgrade: the saved-view tag, its URL key, the state keys and the image
    card's switch are all names the UI's JavaScript looks for."""
    text = "".join(path.read_text(errors="ignore") for path in UI_JS.glob("*.js"))
    for key in (
        "mlflow.sharedViewState.",
        "viewStateShareKey",
        '"selectedColumns"',
        '"compareRunCharts"',
        '"compareRunSections"',
        "showRunParams",
        "mlflow.experiment.primaryMetric.name",
    ):
        assert key in text, key
