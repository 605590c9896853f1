"""Metric models as artifacts: trained deterministically, stored once in a real MLflow store (SQLite
on disk), shared by every GANFORGE_HOME that points at the store, pinned by URI, refused when
they do not fit the job."""

from __future__ import annotations

import json
import shutil
from dataclasses import replace
from pathlib import Path

import pytest
import yaml
from mlflow.tracking import MlflowClient

from ganforge.modalities.image import MODALITY
from ganforge.platform.config import load_job_dict
from ganforge.platform.errors import ConfigError
from ganforge.platform.metrics import MetricModelRecipe, resolve_metric_model
from ganforge.platform.metrics.metric_model import train_metric_model
from ganforge.platform.metrics.store import EXPERIMENT
from tests.conftest import run_cli

pytestmark = pytest.mark.integration


def _recipe(**data: object) -> MetricModelRecipe:
    raw = MODALITY.tiny_configs()[1]  # digits at 8x8: a metric model in a second
    raw["data"] = {**raw["data"], **data}
    job = load_job_dict(raw)
    recipe = MODALITY.metric_model(MODALITY.prepare(job.data), job.data)
    assert recipe is not None
    return recipe


def _never_trained(recipe: MetricModelRecipe) -> MetricModelRecipe:
    def refuse() -> None:
        raise AssertionError("the stored copy should have been loaded, not trained again")

    return replace(recipe, train=refuse)


@pytest.fixture
def store(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    """A real MLflow SQLite store of its own, and an empty GANFORGE_HOME."""
    monkeypatch.chdir(tmp_path)  # a plain SQLite URI puts artifacts under ./mlruns
    monkeypatch.setenv("GANFORGE_HOME", str(tmp_path / "home"))
    return f"sqlite:///{tmp_path / 'mlflow.db'}"


def test_training_is_deterministic_and_the_seed_changes_it() -> None:
    recipe = _recipe()
    assert train_metric_model(recipe)[1] == train_metric_model(recipe)[1]
    other = _recipe(eval={"samples": 64, "classifier_steps": 20, "metric_seed": 1})
    assert other.key != recipe.key
    assert train_metric_model(other)[1] != train_metric_model(recipe)[1]


def test_stored_once_and_loaded_by_every_home(
    store: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    uri, recipe = store, _recipe()
    first = resolve_metric_model(recipe, uri)
    assert first.uri is not None and first.uri.startswith("models:/m-")
    monkeypatch.setenv("GANFORGE_HOME", str(tmp_path / "home-b"))  # an empty cache: another node
    second = resolve_metric_model(_never_trained(recipe), uri)
    assert (second.uri, second.sha256) == (first.uri, first.sha256)
    assert (tmp_path / "home-b" / "cache" / "metric-models" / recipe.key).is_dir()
    pinned = resolve_metric_model(_never_trained(recipe), uri, pinned=first.uri)
    assert pinned.sha256 == first.sha256
    client = MlflowClient(tracking_uri=uri)
    experiment = client.get_experiment_by_name(EXPERIMENT)
    stored = client.search_logged_models([experiment.experiment_id])
    assert [m.name for m in stored] == [recipe.key]  # once, however many homes resolved it


def test_a_damaged_cache_is_replaced_by_the_stored_copy(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    uri = f"sqlite:///{tmp_path / 'mlflow.db'}"
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("GANFORGE_HOME", str(tmp_path / "home"))
    recipe = _recipe()
    first = resolve_metric_model(recipe, uri)
    weights = tmp_path / "home" / "cache" / "metric-models" / recipe.key / "weights.pt"
    weights.write_bytes(b"not a checkpoint")
    again = resolve_metric_model(_never_trained(recipe), uri)
    assert again.sha256 == first.sha256


def test_stored_files_that_are_gone_are_called_missing_not_damaged(
    store: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The artifact store lost the files (deleted, or an in-memory endpoint stopped): another home
    (an empty cache) is told so in one line, not that a copy failed its hash."""
    recipe = _recipe()
    first = resolve_metric_model(recipe, store)
    artifacts = sorted((tmp_path / "mlruns").rglob("card.json"))
    assert len(artifacts) == 1, artifacts
    shutil.rmtree(artifacts[0].parent)
    monkeypatch.setenv("GANFORGE_HOME", str(tmp_path / "home-b"))
    with pytest.raises(ConfigError) as raised:
        resolve_metric_model(_never_trained(recipe), store)
    message = str(raised.value)
    assert message.startswith(f"data.eval.metric_model = {first.uri}: the stored copy's files are missing")
    assert "damaged" not in message and "\n" not in message


def test_a_pin_that_does_not_exist_or_does_not_fit_is_a_config_error(store: str) -> None:
    uri = store
    stored = resolve_metric_model(_recipe(), uri)
    with pytest.raises(ConfigError, match=r"^data\.eval\.metric_model = models:/m-0+: no such metric model"):
        resolve_metric_model(_recipe(), uri, pinned="models:/m-" + "0" * 32)
    with pytest.raises(ConfigError, match="metric_model = models:/nothing/3: no such metric model"):
        resolve_metric_model(_recipe(), uri, pinned="models:/nothing/3")
    other_data = _recipe(size=16)  # another fingerprint
    with pytest.raises(
        ConfigError, match=f"it is {stored.key}, but this job's data .* need {other_data.key}"
    ):
        resolve_metric_model(other_data, uri, pinned=stored.uri)


def test_train_with_a_missing_pin_exits_2_before_any_run(tmp_path: Path, home: Path) -> None:
    raw = MODALITY.tiny_configs()[1]
    raw["data"]["eval"]["metric_model"] = "models:/m-" + "0" * 32
    config = tmp_path / "job.yaml"
    config.write_text(yaml.safe_dump(raw))
    result = run_cli("train", str(config), cwd=tmp_path)
    assert result.returncode == 2, result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: data.eval.metric_model = models:/m-0"), lines
    client = MlflowClient(tracking_uri=f"sqlite:///{home / 'mlflow.db'}")
    experiment = client.get_experiment_by_name("ganforge")
    assert experiment is None or not client.search_runs([experiment.experiment_id])
    assert not client.search_registered_models()


def test_runs_carry_the_metric_model_and_select_refuses_mixed_rulers(tmp_path: Path, home: Path) -> None:
    outcomes = []
    for seed in (0, 1):
        raw = MODALITY.tiny_configs()[1]
        raw["data"]["eval"]["metric_seed"] = seed  # two rulers for the same data
        raw["tracking"] = {"experiment": "rulers", "model_name": "digits-tiny"}
        config = tmp_path / f"job{seed}.yaml"
        config.write_text(yaml.safe_dump(raw))
        result = run_cli("train", str(config), "--json", cwd=tmp_path)
        assert result.returncode == 0, result.stderr[-3000:]
        outcomes.append(json.loads(result.stdout.strip().splitlines()[-1]))
    client = MlflowClient(tracking_uri=outcomes[0]["tracking_uri"])
    tags = [client.get_run(o["run_id"]).data.tags for o in outcomes]
    assert all(t["ganforge.metric_version"] == "image-classifier/v2" for t in tags)
    assert tags[0]["ganforge.metric_model_sha256"] != tags[1]["ganforge.metric_model_sha256"]
    version = client.get_model_version("digits-tiny", outcomes[0]["model_version"])
    assert version.tags["ganforge.metric_model_sha256"] == tags[0]["ganforge.metric_model_sha256"]
    params = client.get_run(outcomes[0]["run_id"]).data.params
    assert params["data.eval.metric_model"] == tags[0]["ganforge.metric_model"]  # pinned for workers

    refused = run_cli("select", "--experiment", "rulers", "--metric", "fid", "--mode", "min", cwd=tmp_path)
    assert refused.returncode == 1
    assert "computed with different metric models" in refused.stderr and "digits-tiny/1" in refused.stderr
    narrowed = run_cli(
        "select", "--experiment", "rulers", "--metric", "fid", "--mode", "min",
        "--filter", f"tags.`ganforge.metric_model_sha256` = '{tags[0]['ganforge.metric_model_sha256']}'",
        cwd=tmp_path,
    )  # fmt: skip
    assert narrowed.returncode == 0, narrowed.stderr
