"""`ganforge train` end to end on the embedded default: real MLflow SQLite store, real files."""

from __future__ import annotations

import importlib.metadata
import json
import signal
import subprocess
import time
from pathlib import Path

import mlflow
import pytest
import torch
import yaml
from mlflow.tracking import MlflowClient

from ganforge.modalities.toy import MODALITY
from ganforge.platform.config import apply_overrides
from tests.conftest import ready_store_client, run_cli, start_interruptible

pytestmark = pytest.mark.integration


def _tiny_file(tmp_path: Path, **overrides) -> Path:
    path = tmp_path / "tiny.yaml"
    path.write_text(yaml.safe_dump(apply_overrides(MODALITY.tiny_config(), overrides)))
    return path


def test_local_run_is_tracked_and_registered(tmp_path: Path, home: Path) -> None:
    result = run_cli("train", str(_tiny_file(tmp_path)), "--set", "train.seed=3", "--json", cwd=tmp_path)
    assert result.returncode == 0, result.stderr[-3000:]
    outcome = json.loads(result.stdout.strip().splitlines()[-1])
    assert {"run_id", "metrics", "model_name", "model_version"} <= set(outcome)
    assert "mlflow ui --backend-store-uri sqlite:///" in result.stdout

    uri = f"sqlite:///{home / 'mlflow.db'}"
    client = MlflowClient(tracking_uri=uri)
    run = client.get_run(outcome["run_id"])
    assert run.info.status == "FINISHED"
    # The printed link and the experiment's kind open MLflow 3 on its model-training view.
    experiment_id, run_id = run.info.experiment_id, run.info.run_id
    page = f"http://127.0.0.1:5000/#/experiments/{experiment_id}/runs/{run_id}?workflowType=machine_learning"
    assert page in result.stdout
    assert client.get_experiment(experiment_id).tags["mlflow.experimentKind"] == "custom_model_development"
    assert run.data.params["gan.loss"] == "non_saturating"
    assert run.data.params["train.steps"] == "20"
    for tag in ("ganforge.config_hash", "ganforge.git_commit", "ganforge.data_fingerprint"):
        assert run.data.tags[tag]
    # Named by what tells it from its siblings; what --set changed is a tag (a column in the UI).
    assert run.info.run_name == f"toy-tiny seed=3 #{run.data.tags['ganforge.config_hash'][:6]}"
    assert run.data.tags["ganforge.set.train.seed"] == "3"
    history = client.get_metric_history(run.info.run_id, "loss_d")
    assert [m.step for m in history] == [5, 10, 15, 20]
    for key in ("loss_g", "grad_norm_d", "grad_norm_g", "d_real", "d_fake", "step_time", "modes"):
        assert key in run.data.metrics, key
    artifacts = {a.path for a in client.list_artifacts(run.info.run_id)}
    assert "config.yaml" in artifacts
    # log_image(key, step) files are named images/<key>+step+<step>+timestamp+...png.
    images = [a.path for a in client.list_artifacts(run.info.run_id, "images")]
    steps = {path.split("+step+")[1].split("+")[0] for path in images if path.endswith(".png")}
    assert {"10", "20"} <= steps, images

    version = client.get_model_version(outcome["model_name"], outcome["model_version"])
    assert version.tags["run_id"] == run.info.run_id
    assert version.tags["data_fingerprint"] == run.data.tags["ganforge.data_fingerprint"]
    # The version shows itself: its description (markdown on the version page) opens with a sample
    # image the tracking server serves from the run, then a card of data, objective, metrics, lineage.
    card = version.description
    assert f"![samples](get-artifact?path=model_card%2Fscatter.png&run_uuid={run_id})" in card, card
    assert {a.path for a in client.list_artifacts(run_id, "model_card")} == {"model_card/scatter.png"}
    fingerprint = run.data.tags["ganforge.data_fingerprint"]
    assert f"- **Data**: `ring8`, fingerprint `{fingerprint}`" in card, card
    assert "- **Objective**: adversarial, loss `non_saturating`" in card, card
    assert f"run [`{run_id[:8]}`](#/experiments/{experiment_id}/runs/{run_id}?workflowType=" in card, card
    assert "config `toy-tiny`" in card and "seed `3`" in card, card
    assert f"| modes | {run.data.metrics['modes']:.4g} | higher |" in card, card
    mlflow.set_tracking_uri(uri)
    model = mlflow.pytorch.load_model(f"models:/{outcome['model_name']}/{outcome['model_version']}")
    points = model(torch.randn(16, 2))
    assert points.shape == (16, 2) and torch.isfinite(points).all()
    # The model's environment names the installed versions of what its pickle needs, no more.
    folder = mlflow.artifacts.download_artifacts(f"models:/{outcome['model_name']}/1", dst_path=str(tmp_path))
    required = (Path(folder) / "requirements.txt").read_text().split()
    packages = ("mlflow", "torch", "cloudpickle", "numpy")
    assert required == [f"{n}=={importlib.metadata.version(n)}" for n in packages]


def test_unreachable_tracking_server_fails_fast(tmp_path: Path, home: Path) -> None:
    config = _tiny_file(tmp_path, **{"tracking.uri": "http://127.0.0.1:9"})
    start = time.monotonic()
    result = run_cli("train", str(config), cwd=tmp_path)
    assert time.monotonic() - start < 30  # includes interpreter start-up on a 2-core machine
    assert result.returncode == 1
    assert result.stderr.strip().splitlines() == [
        "error: MLflow tracking server http://127.0.0.1:9 is unreachable (ConnectionError)"
    ]
    assert not (home / "checkpoints").exists()


def test_unreachable_server_is_reported_within_ten_seconds(home: Path) -> None:
    from ganforge.pipelines.train import train
    from ganforge.platform.config import load_job_dict
    from ganforge.platform.errors import TrackingError

    job = load_job_dict(apply_overrides(MODALITY.tiny_config(), {"tracking.uri": "http://127.0.0.1:9"}))
    start = time.monotonic()
    with pytest.raises(TrackingError, match="unreachable"):
        train(job)
    assert time.monotonic() - start < 10  # the bound, measured from the pipeline's start


def test_interrupted_run_is_failed_and_registers_nothing(tmp_path: Path, home: Path) -> None:
    config = _tiny_file(tmp_path, **{"train.steps": 100000, "train.log_every": 10})
    process = start_interruptible("train", str(config), cwd=tmp_path, stderr=subprocess.PIPE)
    try:
        deadline = time.monotonic() + 120
        run = None
        while run is None or not run.data.metrics:  # wait until training is under way
            assert time.monotonic() < deadline, "no run with metrics within 120 s"
            assert process.poll() is None, process.communicate()[1][-2000:]
            time.sleep(1)
            run = _only_run(home)
        process.send_signal(signal.SIGINT)
        _, stderr = process.communicate(timeout=300)  # a loaded CI machine can be slow to unwind
    finally:
        process.kill()  # never leave a 100,000-step run behind a failed assertion
    assert process.returncode == 130, stderr[-2000:]
    assert stderr.strip().splitlines()[-1] == "interrupted"
    client = MlflowClient(tracking_uri=f"sqlite:///{home / 'mlflow.db'}")
    assert client.get_run(run.info.run_id).info.status == "FAILED"
    assert client.search_registered_models() == []


def _only_run(home: Path):  # noqa: ANN202
    if (client := ready_store_client(home)) is None:  # the run's own process is still creating the store
        return None
    experiment = client.get_experiment_by_name("ganforge")
    runs = client.search_runs([experiment.experiment_id]) if experiment else []
    return runs[0] if runs else None


def test_corrupt_data_file_is_a_clear_error_before_training(tmp_path: Path, home: Path) -> None:
    points = tmp_path / "points.csv"
    points.write_text("0.1,0.2\n0.3,oops\n")
    config = _tiny_file(tmp_path, **{"data.dataset": "file", "data.path": str(points)})
    result = run_cli("train", str(config), cwd=tmp_path)
    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and str(points) in lines[0], result.stderr
    assert "Traceback" not in result.stderr
    assert not (home / "mlflow.db").exists()  # no run was opened


def test_diverged_run_is_failed_and_not_registered(tmp_path: Path, home: Path) -> None:
    # A learning rate of 1e6 with no stabiliser sends the losses to inf/NaN within steps.
    config = _tiny_file(
        tmp_path,
        **{
            "gan.g_opt.lr": 1.0e6,
            "gan.d_opt.lr": 1.0e6,
            "gan.loss": "wasserstein",
            "model.g_batch_norm": False,
            "train.steps": 200,
        },
    )
    result = run_cli("train", str(config), cwd=tmp_path)
    assert result.returncode == 1, result.stdout + result.stderr
    assert "diverged" in result.stderr
    client = MlflowClient(tracking_uri=f"sqlite:///{home / 'mlflow.db'}")
    runs = client.search_runs(client.get_experiment_by_name("ganforge").experiment_id)
    assert [r.info.status for r in runs] == ["FAILED"]
    assert client.search_registered_models() == []
