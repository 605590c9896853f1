"""A job's settings (home, tracking, S3) are resolved once, reach Ray workers through runtime_env,
and leave nothing in the calling process's environment for the next job."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import pytest

from ganforge.platform.config.schema import TrackingConfig
from ganforge.platform.settings import JobSettings

ENDPOINT_A = "http://minio-a.example:9000"
ENDPOINT_B = "http://minio-b.example:9000"
SETTING_VARS = ("MLFLOW_S3_ENDPOINT_URL", "MLFLOW_TRACKING_URI", "AWS_RETRY_MODE", "AWS_MAX_ATTEMPTS")


@pytest.fixture
def clean_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Path:
    """No setting in the environment but a home folder; returns that folder."""
    for name in (*SETTING_VARS, "RAY_ADDRESS", "RAY_JOB_CONFIG_JSON_ENV_VAR"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("GANFORGE_HOME", str(tmp_path / "home"))
    return tmp_path / "home"


def test_resolve_prefers_the_config_then_the_environment(clean_env: Path) -> None:
    env = {"MLFLOW_S3_ENDPOINT_URL": ENDPOINT_B, "AWS_MAX_ATTEMPTS": "3", "GANFORGE_HOME": "/data/gf"}
    settings = JobSettings.resolve(TrackingConfig(s3_endpoint_url=ENDPOINT_A, uri="http://mlflow:5000"), env)
    assert settings == JobSettings(
        home=Path("/data/gf"),
        tracking_uri="http://mlflow:5000",
        s3_endpoint_url=ENDPOINT_A,
        aws_retry_mode="standard",
        aws_max_attempts=3,
    )
    assert JobSettings.resolve(TrackingConfig(), env).s3_endpoint_url == ENDPOINT_B
    assert JobSettings.resolve().home == clean_env  # default: this process's environment


def test_applying_a_jobs_settings_leaves_the_environment_unchanged(clean_env: Path) -> None:
    before = dict(os.environ)
    with JobSettings.resolve(TrackingConfig(s3_endpoint_url=ENDPOINT_A)).applied():
        # MLflow's S3 client reads its endpoint only from here: set for the job's duration.
        assert os.environ["MLFLOW_S3_ENDPOINT_URL"] == ENDPOINT_A
        assert (os.environ["AWS_RETRY_MODE"], os.environ["AWS_MAX_ATTEMPTS"]) == ("standard", "8")
    assert dict(os.environ) == before


def test_two_jobs_in_one_process_do_not_share_an_endpoint(clean_env: Path) -> None:
    first = JobSettings.resolve(TrackingConfig(s3_endpoint_url=ENDPOINT_A))
    with first.applied():
        pass
    second = JobSettings.resolve(TrackingConfig())
    assert second.s3_endpoint_url is None
    with second.applied():
        assert "MLFLOW_S3_ENDPOINT_URL" not in os.environ
    assert "MLFLOW_S3_ENDPOINT_URL" not in second.env_vars()


def test_a_tracking_uri_that_mlflow_set_during_the_job_is_not_the_next_jobs_default(clean_env: Path) -> None:
    import mlflow

    try:
        with JobSettings.resolve(TrackingConfig()).applied():
            mlflow.set_tracking_uri(f"sqlite:///{clean_env / 'first.db'}")  # what log_generator does
        assert "MLFLOW_TRACKING_URI" not in os.environ
        assert JobSettings.resolve(TrackingConfig()).tracking_uri is None
    finally:
        mlflow.set_tracking_uri(None)  # MLflow's own module state, for the tests after this one


def test_the_users_own_values_come_back_even_after_an_error(
    clean_env: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("MLFLOW_S3_ENDPOINT_URL", ENDPOINT_B)
    with (
        pytest.raises(RuntimeError),
        JobSettings.resolve(TrackingConfig(s3_endpoint_url=ENDPOINT_A)).applied(),
    ):
        assert os.environ["MLFLOW_S3_ENDPOINT_URL"] == ENDPOINT_A
        raise RuntimeError("the job failed")
    assert os.environ["MLFLOW_S3_ENDPOINT_URL"] == ENDPOINT_B
    assert "AWS_RETRY_MODE" not in os.environ


def test_a_cluster_elsewhere_keeps_its_own_home_and_gets_no_loopback_address(clean_env: Path) -> None:
    settings = JobSettings(
        home=Path("/home/me/runs"), tracking_uri="sqlite:////home/me/mlflow.db", s3_endpoint_url=ENDPOINT_A
    )
    local = settings.env_vars("127.0.0.1:6379")
    assert local["GANFORGE_HOME"] == "/home/me/runs" and local["MLFLOW_TRACKING_URI"].startswith("sqlite:")
    assert settings.env_vars(None) == local  # a Ray started here
    remote = settings.env_vars("ray://head.example:10001")
    assert remote == {
        "MLFLOW_S3_ENDPOINT_URL": ENDPOINT_A,
        "AWS_RETRY_MODE": "standard",
        "AWS_MAX_ATTEMPTS": "8",
    }


def _fake_ray(monkeypatch: pytest.MonkeyPatch) -> dict[str, Any]:
    from ganforge.platform.cluster import connect as connect_module

    seen: dict[str, Any] = {}
    monkeypatch.setattr(connect_module.ray, "is_initialized", lambda: False)
    monkeypatch.setattr(connect_module.ray, "init", lambda **kwargs: seen.update(kwargs))
    return seen


def test_connect_hands_the_settings_to_ray_and_writes_no_environment(
    clean_env: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from ganforge.platform.cluster.connect import connect

    seen = _fake_ray(monkeypatch)
    settings = JobSettings(home=clean_env, tracking_uri="http://mlflow:5000", s3_endpoint_url=ENDPOINT_A)
    before = dict(os.environ)
    connect(num_cpus=2, settings=settings)
    assert dict(os.environ) == before
    assert seen["address"] == "local" and seen["runtime_env"] == {"env_vars": settings.env_vars()}


def test_connect_in_a_submitted_job_leaves_the_jobs_own_variables_to_it(
    clean_env: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from ganforge.platform.cluster.connect import connect

    # Ray refuses a driver's ray.init that sets a variable the submitted job's runtime_env sets.
    job = {"runtime_env": {"env_vars": {"MLFLOW_TRACKING_URI": "http://mlflow:5000"}}}
    monkeypatch.setenv("RAY_JOB_CONFIG_JSON_ENV_VAR", json.dumps(job))
    monkeypatch.setenv("RAY_ADDRESS", "127.0.0.1:6379")
    seen = _fake_ray(monkeypatch)
    connect(settings=JobSettings(home=clean_env, tracking_uri="http://mlflow:5000"))
    assert seen["address"] == "127.0.0.1:6379"
    assert set(seen["runtime_env"]["env_vars"]) == {"GANFORGE_HOME", "AWS_RETRY_MODE", "AWS_MAX_ATTEMPTS"}


def test_train_resolves_the_settings_once_and_leaves_no_trace(
    clean_env: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The bug of issue 14: the library's `train` wrote the job's S3 endpoint into os.environ, where
    the next job in the same process found it."""
    from ganforge.modalities.toy import MODALITY
    from ganforge.pipelines.train import job as job_module
    from ganforge.platform.config import apply_overrides, load_job_dict

    during: list[tuple[JobSettings, str | None]] = []

    def fake_train(job: Any, settings: JobSettings, address: Any, on_progress: Any, changes: Any) -> str:
        during.append((settings, os.environ.get("MLFLOW_S3_ENDPOINT_URL")))
        return "outcome"

    monkeypatch.setattr(job_module, "_train", fake_train)
    before = dict(os.environ)
    first = load_job_dict(apply_overrides(MODALITY.tiny_config(), {"tracking.s3_endpoint_url": ENDPOINT_A}))
    assert job_module.train(first) == "outcome"
    assert dict(os.environ) == before
    assert job_module.train(load_job_dict(MODALITY.tiny_config())) == "outcome"
    assert dict(os.environ) == before
    (settings_a, seen_a), (settings_b, seen_b) = during
    assert (settings_a.s3_endpoint_url, seen_a) == (ENDPOINT_A, ENDPOINT_A)
    assert (settings_b.s3_endpoint_url, seen_b) == (None, None)
    assert settings_a.home == settings_b.home == clean_env
