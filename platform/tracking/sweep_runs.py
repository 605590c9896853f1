"""MLflow runs of a sweep: one parent run, one nested child run per trial."""

from __future__ import annotations

from typing import Any

from mlflow.entities import Param, RunStatus, RunTag
from mlflow.tracking import MlflowClient

from ganforge.platform.config.schema import JobConfig, TrackingConfig
from ganforge.platform.tracking.run import (
    MAX_PARAM_LENGTH,
    changed_tags,
    config_hash,
    flatten,
    provenance_tags,
    run_name,
    runs_view,
)
from ganforge.platform.tracking.runs_view import safely, update_view
from ganforge.platform.tracking.store import ensure_experiment, tracking_uri
from ganforge.platform.tracking.stream import TrackingTarget

PARENT_TAG = "mlflow.parentRunId"
TRIAL_TAG = "ganforge.trial_id"


def open_parent_run(tracking: TrackingConfig, name: str, sweep_dict: dict[str, Any]) -> dict[str, str]:
    """Creates the sweep's parent run (params: the sweep file, flattened); returns what trials need."""
    uri = tracking_uri(tracking)
    client = MlflowClient(tracking_uri=uri)
    experiment_id = ensure_experiment(client, uri, tracking)
    tags = {"mlflow.runName": name, "ganforge.kind": "sweep", **provenance_tags()}
    run = client.create_run(experiment_id, tags=tags)
    params = [Param(f"sweep.{k}", v[:MAX_PARAM_LENGTH]) for k, v in flatten(sweep_dict).items()]
    client.log_batch(run.info.run_id, params=params[:100])
    for start in range(100, len(params), 100):
        client.log_batch(run.info.run_id, params=params[start : start + 100])
    client.log_dict(run.info.run_id, sweep_dict, "sweep.yaml")
    return {"uri": uri, "experiment_id": experiment_id, "parent_run_id": run.info.run_id}


def find_trial_run(client: MlflowClient, sweep: dict[str, str], trial_id: str) -> Any | None:
    query = f"tags.`{PARENT_TAG}` = '{sweep['parent_run_id']}' and tags.`{TRIAL_TAG}` = '{trial_id}'"
    runs = client.search_runs([sweep["experiment_id"]], filter_string=query, max_results=1)
    return runs[0] if runs else None


def open_trial_run(
    sweep: dict[str, str], job: JobConfig, trial_id: str, params: dict[str, Any]
) -> TrackingTarget:
    """The trial's child run: created on first start, reopened when Tune restarts the trial
    (a PBT exploit or `--resume`), so one trial keeps one run."""
    client = MlflowClient(tracking_uri=sweep["uri"])
    existing = find_trial_run(client, sweep, trial_id)
    if existing is not None:
        client.update_run(existing.info.run_id, status=RunStatus.to_string(RunStatus.RUNNING))
        # Mutated values after an exploit: params are immutable in MLflow, so record them as tags.
        tags = [RunTag(f"ganforge.param.{k}", str(v)[:5000]) for k, v in params.items()]
        client.log_batch(existing.info.run_id, tags=tags)
        return TrackingTarget(uri=sweep["uri"], run_id=existing.info.run_id)
    tags = {
        "mlflow.runName": run_name(job, params),
        **changed_tags(params),
        PARENT_TAG: sweep["parent_run_id"],
        TRIAL_TAG: trial_id,
        "ganforge.modality": job.modality,
        "ganforge.config_hash": config_hash(job),
        "ganforge.runner": "tune",
        "ganforge.status": "running",
    }
    safely(
        "update the experiment's saved view",
        lambda: update_view(client, sweep["experiment_id"], runs_view(job, params)),
    )
    run = client.create_run(sweep["experiment_id"], tags=tags)
    flat = flatten(job.to_dict())
    logged = [Param(k, v[:MAX_PARAM_LENGTH]) for k, v in flat.items()]
    for start in range(0, len(logged), 100):
        client.log_batch(run.info.run_id, params=logged[start : start + 100])
    client.log_dict(run.info.run_id, job.to_dict(), "config.yaml")
    return TrackingTarget(uri=sweep["uri"], run_id=run.info.run_id)


STOP_TAG = "ganforge.stop_reason"


def tag_stopped_trial(sweep: dict[str, str], trial_id: str, reason: str, status: str | None = None) -> None:
    """Records why a trial ended on its run (and closes the run when `status` is given)."""
    client = MlflowClient(tracking_uri=sweep["uri"])
    run = find_trial_run(client, sweep, trial_id)
    if run is None:
        return
    client.set_tag(run.info.run_id, STOP_TAG, reason[:5000])
    if status is not None and run.info.status == "RUNNING":
        client.set_terminated(run.info.run_id, status=status)
