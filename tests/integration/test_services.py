"""The full setup on loopback: `ganforge services up` (S3 endpoint + MLflow server), a tracked
job whose artifacts land in the bucket, registry versions, champion selection, evaluation and
generation from `models:/NAME@champion`. Real processes, real HTTP, real boto3."""

from __future__ import annotations

import json
import os
import re
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
import requests
import yaml
from mlflow.tracking import MlflowClient

from ganforge.modalities.toy import MODALITY
from ganforge.platform.config import apply_overrides
from ganforge.platform.storage import list_objects, s3_client
from tests.conftest import run_cli

pytestmark = pytest.mark.integration

# Distinctive fake credentials: the local endpoint accepts any, and none may leak into the run.
SECRET_ENV = {"AWS_ACCESS_KEY_ID": "GFKEYID7QX2Z", "AWS_SECRET_ACCESS_KEY": "gf-secret-9f8e7d6c5b4a"}


@pytest.fixture(scope="module")
def services(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict]:
    home = tmp_path_factory.mktemp("services-home")
    env = {"GANFORGE_HOME": str(home), **SECRET_ENV}
    result = run_cli("services", "up", "--json", env=env, timeout=300)
    assert result.returncode == 0, result.stderr[-3000:]
    state = json.loads(result.stdout.strip().splitlines()[-1])
    yield {"home": home, "env": env, **state}
    run_cli("services", "down", env=env)


def _job_file(folder: Path, name: str, **overrides) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{name}.yaml"
    raw = apply_overrides(
        MODALITY.tiny_config(), {"name": name, "tracking.model_name": "toy-services", **overrides}
    )
    path.write_text(yaml.safe_dump(raw))
    return path


def _train(services: dict, config: Path) -> dict:
    env = {**services["env"], "MLFLOW_TRACKING_URI": services["tracking_uri"]}
    result = run_cli("train", str(config), "--json", env=env, cwd=config.parent)
    assert result.returncode == 0, result.stderr[-3000:]
    assert not any(secret in result.stdout + result.stderr for secret in SECRET_ENV.values())
    return json.loads(result.stdout.strip().splitlines()[-1])


def _bucket_keys(services: dict) -> list[str]:
    os.environ.update(SECRET_ENV)  # this test process reads the bucket directly
    return list_objects(s3_client(services["s3_endpoint"]), "ganforge")


def test_up_is_idempotent_and_status_is_healthy(services: dict) -> None:
    again = run_cli("services", "up", "--json", env=services["env"])
    assert again.returncode == 0, again.stderr
    assert json.loads(again.stdout.strip().splitlines()[-1])["mlflow_pid"] == services["mlflow_pid"]
    status = run_cli("services", "status", env=services["env"])
    assert status.returncode == 0, status.stdout
    assert status.stdout.count("healthy") == 2 and "NOT RESPONDING" not in status.stdout


def test_train_select_evaluate_generate_through_the_services(services: dict, tmp_path: Path) -> None:
    uri = services["tracking_uri"]
    outcomes = [
        _train(services, _job_file(tmp_path, f"svc-{seed}", **{"train.seed": seed})) for seed in (1, 2)
    ]

    keys = _bucket_keys(services)
    for outcome in outcomes:  # the server proxied every artifact into the bucket
        run_keys = [k for k in keys if outcome["run_id"] in k]
        assert any(k.endswith("/artifacts/config.yaml") for k in run_keys), run_keys
        assert any("/artifacts/images/samples+step+" in k for k in run_keys), run_keys
    assert sum(k.endswith("/data/model.pt2") for k in keys) >= 2

    client = MlflowClient(tracking_uri=uri)
    versions = client.search_model_versions("name = 'toy-services'")
    assert sorted(v.version for v in versions) == ["1", "2"]
    for version in versions:
        assert {"config_hash", "data_fingerprint", "git_commit", "run_id", "metric.reverse_kl"} <= set(
            version.tags
        )
        assert "EMA generator" in version.description
        # The version page's <img> asks the server for this relative URL: it must answer the PNG.
        image = re.search(r"!\[samples\]\((get-artifact\?[^)]+)\)", version.description)
        assert image, version.description
        served = requests.get(f"{uri.rstrip('/')}/{image[1]}", timeout=30)
        assert served.status_code == 200 and served.content.startswith(b"\x89PNG"), served.status_code

    env = {**services["env"], "MLFLOW_TRACKING_URI": uri}
    selected = run_cli(
        "select", "--experiment", "ganforge", "--metric", "reverse_kl", "--mode", "min", env=env
    )
    assert selected.returncode == 0, selected.stderr
    best = min(outcomes, key=lambda o: o["metrics"]["reverse_kl"])
    champion = client.get_model_version_by_alias("toy-services", "champion")
    assert champion.version == best["model_version"]
    assert f"champion -> models:/toy-services/{best['model_version']}" in selected.stdout

    evaluated = run_cli("evaluate", "models:/toy-services@champion", "--json", env=env)
    assert evaluated.returncode == 0, evaluated.stderr
    metrics = json.loads(evaluated.stdout.strip().splitlines()[-1])
    tags = client.get_model_version("toy-services", champion.version).tags
    assert float(tags["metric.modes"]) == metrics["modes"] and tags["metrics_source"] == "ganforge evaluate"

    out = tmp_path / "generated"
    generated = run_cli(
        "generate", "models:/toy-services@champion", "-n", "300", "--out", str(out), "--seed", "7", env=env
    )
    assert generated.returncode == 0, generated.stderr
    points = np.loadtxt(out / "samples.csv", delimiter=",")
    assert points.shape == (300, 2) and np.isfinite(points).all()
    refused_out = tmp_path / "refused"  # a toy model's latents have no truncation: one line, nothing written
    refused = run_cli(
        "generate", "models:/toy-services@champion", "--out", str(refused_out), "--truncation", "1.5", env=env
    )
    assert refused.returncode == 2  # a usage error, as a bad config
    assert refused.stderr.strip().splitlines() == [
        "error: models:/toy-services@champion: truncation applies to models whose config has "
        "model.truncation (images); this is a toy model"
    ]
    assert not refused_out.exists()


def test_direct_s3_artifacts_never_record_credentials(
    services: dict, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The experiment's artifacts go straight to S3 (client-side boto3 with the AWS_* credentials).
    config = _job_file(
        tmp_path,
        "svc-direct",
        **{
            "tracking.experiment": "direct-s3",
            "tracking.artifact_location": "s3://ganforge/direct",
            "tracking.s3_endpoint_url": services["s3_endpoint"],
            "tracking.model_name": "toy-direct",
        },
    )
    outcome = _train(services, config)
    assert any(k.startswith("direct/") and outcome["run_id"] in k for k in _bucket_keys(services))

    client = MlflowClient(tracking_uri=services["tracking_uri"])
    run = client.get_run(outcome["run_id"])
    version = client.get_model_version("toy-direct", outcome["model_version"])
    recorded = [
        json.dumps(run.data.params),
        json.dumps(run.data.tags),
        json.dumps(version.tags),
        version.description or "",
    ]
    monkeypatch.setenv("MLFLOW_S3_ENDPOINT_URL", services["s3_endpoint"])  # to read them back here
    download = Path(client.download_artifacts(run.info.run_id, "", str(tmp_path / "artifacts")))
    recorded += [p.read_bytes().decode("latin-1") for p in download.rglob("*") if p.is_file()]
    assert any("svc-direct" in text for text in recorded)  # the scan does see the run's content
    for secret in SECRET_ENV.values():
        assert not any(secret in text for text in recorded), secret


def test_bad_input_to_registry_commands(services: dict, tmp_path: Path) -> None:
    env = {**services["env"], "MLFLOW_TRACKING_URI": services["tracking_uri"]}
    missing = run_cli("generate", "models:/no-such-model@champion", "--out", str(tmp_path), env=env)
    assert missing.returncode == 1
    assert missing.stderr.strip().splitlines() == [
        "error: models:/no-such-model@champion: not in the model registry (RESOURCE_DOES_NOT_EXIST)"
    ]
    unknown = run_cli("select", "--experiment", "nope", "--metric", "fid", "--mode", "min", env=env)
    assert unknown.returncode == 1
    assert unknown.stderr.strip().splitlines() == ["error: experiment 'nope' does not exist"]


@pytest.mark.parametrize("modality", ["image", "audio"])
def test_evaluate_on_two_empty_homes_scores_with_the_one_stored_metric_model(
    services: dict, tmp_path: Path, modality: str
) -> None:
    from ganforge.platform.modality import get_modality

    raw = get_modality(modality).tiny_configs()[0]
    raw["tracking"] = {"experiment": f"rulers-{modality}", "model_name": f"{modality}-ruler"}
    config = tmp_path / "job.yaml"
    config.write_text(yaml.safe_dump(raw))
    outcome = _train(services, config)
    uri = f"models:/{outcome['model_name']}/{outcome['model_version']}"
    # The metric model was stored once, as a logged model, in the bucket behind the server.
    assert any("/models/m-" in k and k.endswith("/weights.pt") for k in _bucket_keys(services))

    scores = []
    for name in ("node-a", "node-b"):  # two machines: nothing cached, only the server in common
        env = {**services["env"], "MLFLOW_TRACKING_URI": services["tracking_uri"]}
        env["GANFORGE_HOME"] = str(tmp_path / name)
        result = run_cli("evaluate", uri, "--json", env=env, cwd=tmp_path)
        assert result.returncode == 0, result.stderr[-3000:]
        scores.append(json.loads(result.stdout.strip().splitlines()[-1]))
    a, b = scores
    assert a["metric_model_sha256"] == b["metric_model_sha256"] and a["metric_model"].startswith("models:/m-")
    for name in ("fid", "kid", "precision", "recall", "is_ratio", "quality"):
        assert b[name] == pytest.approx(a[name], rel=0.01, abs=1e-9), name
    assert outcome["metrics"]["fid"] == pytest.approx(a["fid"], rel=0.01)  # the run's own ruler
