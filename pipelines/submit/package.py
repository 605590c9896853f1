"""Packaging a submission: the resolved config, a wheel of the checkout, and the entrypoint."""

from __future__ import annotations

import os
import re
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import yaml

from ganforge.platform.cluster.jobs import cluster_address, job_client
from ganforge.platform.cluster.wheel import SubmitError, build_wheel
from ganforge.platform.config import load_job_file
from ganforge.platform.config.loading import read_yaml
from ganforge.platform.settings import is_local_address

CONFIG_NAME = "ganforge-submitted.yaml"
# Settings that point the job at the same tracking server and object store as the submitter.
# Credentials (AWS_*) are not forwarded: the cluster gets them from its own secrets.
FORWARDED_ENV = ("MLFLOW_TRACKING_URI", "MLFLOW_S3_ENDPOINT_URL", "MLFLOW_EXPERIMENT_NAME", "GANFORGE_DEBUG")


@dataclass(frozen=True)
class Submission:
    job_id: str
    kind: str
    name: str
    entrypoint: str


def _resolved(path: str, overrides: tuple[str, ...]) -> tuple[str, str, dict]:
    """('train' | 'sweep', name, resolved config) — validated here, before anything is sent."""
    raw = read_yaml(path)
    if "space" in raw:
        from ganforge.pipelines.sweep import load_sweep_file

        loaded = load_sweep_file(path, overrides)
        sweep = loaded.sweep.model_dump(mode="json", exclude_none=True)
        sweep.pop("base", None)
        sweep["job"], sweep["overrides"] = loaded.base, {}  # inline: no relative paths on the cluster
        return "sweep", loaded.sweep.name, sweep
    job = load_job_file(path, overrides)
    return "train", job.name, job.to_dict()


def forwarded_env(address: str | None) -> dict[str, str]:
    """The submitter's tracking settings, for the job. A loopback URL or a local store means this
    machine, so it is only forwarded to a cluster that is on this machine too."""
    local_cluster = is_local_address(cluster_address(address))
    return {
        key: os.environ[key]
        for key in FORWARDED_ENV
        if key in os.environ and (local_cluster or not is_local_address(os.environ[key]))
    }


def submit(path: str, overrides: tuple[str, ...], address: str | None) -> Submission:
    """Validates, packages and submits `path`; returns the job id (nothing is sent on error)."""
    kind, name, config = _resolved(path, overrides)
    client = job_client(address)  # unreachable cluster: fails here, before the wheel is built
    bundle = Path(tempfile.mkdtemp(prefix="ganforge-submit-"))
    wheel = build_wheel(bundle / "wheel")
    workdir = bundle / "workdir"
    workdir.mkdir()
    (workdir / CONFIG_NAME).write_text(yaml.safe_dump(config, sort_keys=False))
    entrypoint = f"python -m ganforge.pipelines.cli.main {kind} {CONFIG_NAME} --json"
    env = forwarded_env(address)
    job_id = f"ganforge-{re.sub(r'[^A-Za-z0-9-]', '-', name)}-{time.strftime('%Y%m%d-%H%M%S')}"
    try:
        submitted = client.submit_job(
            entrypoint=entrypoint,
            submission_id=job_id,
            runtime_env={"py_modules": [str(wheel)], "working_dir": str(workdir), "env_vars": env},
            metadata={"ganforge.kind": kind, "ganforge.name": name},
        )
    except (RuntimeError, ValueError, ConnectionError) as error:
        raise SubmitError(f"the cluster refused the job: {str(error).splitlines()[0][:300]}") from None
    return Submission(job_id=submitted, kind=kind, name=name, entrypoint=entrypoint)
