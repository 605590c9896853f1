"""The driver's side of a tracked run: open it with params and tags, close it with a status."""

from __future__ import annotations

import hashlib
import json
import subprocess
from typing import Any

from mlflow.entities import Param, RunStatus, RunTag
from mlflow.tracking import MlflowClient

from ganforge.platform.config.loading import flatten_values
from ganforge.platform.config.schema import JobConfig
from ganforge.platform.tracking.store import ensure_experiment, tracking_uri
from ganforge.platform.tracking.stream import TrackingTarget

MAX_PARAM_LENGTH = 6000


def flatten(tree: dict[str, Any]) -> dict[str, str]:
    """{'gan': {'g_opt': {'lr': 1e-4}}} -> {'gan.g_opt.lr': '0.0001'} (MLflow params are strings)."""
    return {
        key: json.dumps(value) if isinstance(value, list | tuple) else str(value)
        for key, value in flatten_values(tree).items()
    }


def config_hash(job: JobConfig) -> str:
    """Hash of the resolved config, independent of key order."""
    text = json.dumps(job.to_dict(), sort_keys=True)
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def git_commit() -> str:
    """The checkout's commit (with `-dirty` when it has changes), or `unknown` outside git."""
    try:
        commit = subprocess.run(
            ["git", "rev-parse", "HEAD"], capture_output=True, text=True, timeout=5, check=True
        ).stdout.strip()
        dirty = subprocess.run(
            ["git", "status", "--porcelain", "--untracked-files=no"],
            capture_output=True,
            text=True,
            timeout=5,
            check=True,
        ).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return "unknown"
    return f"{commit}-dirty" if dirty else commit


def start_run(
    job: JobConfig, fingerprint: str, runner: str, tags: dict[str, str] | None = None
) -> TrackingTarget:
    """Creates the MLflow run with flattened params, lineage (and `tags`) and the resolved config."""
    uri = tracking_uri(job.tracking)
    client = MlflowClient(tracking_uri=uri)
    experiment_id = ensure_experiment(client, uri, job.tracking)
    tags = {
        "mlflow.runName": job.name,
        "ganforge.modality": job.modality,
        "ganforge.config_hash": config_hash(job),
        "ganforge.git_commit": git_commit(),
        "ganforge.data_fingerprint": fingerprint,
        "ganforge.runner": runner,
        **(tags or {}),
    }
    run = client.create_run(experiment_id, tags=tags)
    params = [Param(key, value[:MAX_PARAM_LENGTH]) for key, value in flatten(job.to_dict()).items()]
    client.log_batch(run.info.run_id, params=params, tags=[RunTag("ganforge.status", "running")])
    client.log_dict(run.info.run_id, job.to_dict(), "config.yaml")
    return TrackingTarget(uri=uri, run_id=run.info.run_id)


def finish_run(target: TrackingTarget, ok: bool, reason: str = "") -> None:
    """Marks the run FINISHED or FAILED (with the reason as a tag)."""
    client = MlflowClient(tracking_uri=target.uri)
    if reason:
        client.set_tag(target.run_id, "ganforge.failure", reason[:5000])
    client.set_tag(target.run_id, "ganforge.status", "finished" if ok else "failed")
    status = RunStatus.to_string(RunStatus.FINISHED if ok else RunStatus.FAILED)
    client.set_terminated(target.run_id, status=status)
