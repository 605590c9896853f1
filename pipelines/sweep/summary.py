"""After the trials: how each ended, the summary table on the parent run, the best one registered."""

from __future__ import annotations

import math
import re
from pathlib import Path
from typing import Any

from mlflow.entities import RunStatus
from mlflow.tracking import MlflowClient
from ray.tune import ResultGrid

from ganforge.pipelines.sweep.config import LoadedSweep
from ganforge.pipelines.sweep.outcome import SweepOutcome, TrialSummary
from ganforge.pipelines.sweep.report import SweepReport, log_report
from ganforge.pipelines.train.job import inspect_data, log_and_register, pin_job_metric_model
from ganforge.platform.runners.tune_trial import trial_job, trial_params
from ganforge.platform.tracking.stream import TrackingTarget
from ganforge.platform.tracking.sweep_runs import STOP_TAG, find_trial_run, tag_stopped_trial

_TRIAL_ID = re.compile(r"_([0-9a-f]{5}_\d{5})")


def _trial_id(result: Any) -> str:
    if result.metrics and "trial_id" in result.metrics:
        return str(result.metrics["trial_id"])
    found = _TRIAL_ID.search(Path(result.path).name)
    return found.group(1) if found else Path(result.path).name


def _value(metrics: dict[str, Any], metric: str) -> float | None:
    value = metrics.get(metric)
    return float(value) if isinstance(value, int | float) and math.isfinite(value) else None


def _outcome(loaded: LoadedSweep, result: Any, reason: str | None) -> str:
    if result.error is not None:
        message = str(result.error).strip().splitlines()
        text = next((line for line in reversed(message) if "Error" in line), message[-1] if message else "")
        return f"error: {text[:300]}"
    if reason:
        return f"stopped: {reason}"
    step = int((result.metrics or {}).get("step", 0))
    if step >= loaded.job.train.steps:
        return "completed"
    return f"early-stopped by {loaded.sweep.scheduler.type}"


def trial_summaries(
    loaded: LoadedSweep, results: ResultGrid, sweep_runs: dict[str, str] | None
) -> list[TrialSummary]:
    """One line per trial; child runs that Tune ended early are closed with their reason."""
    client = MlflowClient(tracking_uri=sweep_runs["uri"]) if sweep_runs else None
    summaries = []
    for result in results:
        trial_id = _trial_id(result)
        run = find_trial_run(client, sweep_runs, trial_id) if client and sweep_runs else None
        reason = run.data.tags.get(STOP_TAG) if run is not None else None
        outcome = _outcome(loaded, result, reason)
        if run is not None and sweep_runs is not None and outcome != "completed":
            status = RunStatus.FAILED if outcome.startswith(("error", "stopped")) else RunStatus.KILLED
            tag_stopped_trial(sweep_runs, trial_id, outcome, RunStatus.to_string(status))
        metrics = result.metrics or {}
        summaries.append(
            TrialSummary(
                trial_id=trial_id,
                params=trial_params(result.config or {}),
                value=_value(metrics, loaded.sweep.metric),
                step=int(metrics.get("step", 0)),
                outcome=outcome,
                run_id=run.info.run_id if run is not None else None,
            )
        )
    return summaries


def _best(loaded: LoadedSweep, trials: list[TrialSummary]) -> TrialSummary | None:
    scored = [t for t in trials if t.value is not None and not t.outcome.startswith(("error", "stopped"))]
    if not scored:
        return None
    sign = 1 if loaded.sweep.mode == "min" else -1
    return min(scored, key=lambda t: sign * (t.value or 0.0))


def _table(loaded: LoadedSweep, trials: list[TrialSummary]) -> dict[str, list[Any]]:
    keys = sorted({k for t in trials for k in t.params})
    columns: dict[str, list[Any]] = {"trial_id": [t.trial_id for t in trials]}
    for key in keys:
        columns[key] = [t.params.get(key) for t in trials]
    columns[loaded.sweep.metric] = [t.value for t in trials]
    columns["step"] = [t.step for t in trials]
    columns["outcome"] = [t.outcome for t in trials]
    columns["run_id"] = [t.run_id for t in trials]
    return columns


def _register_best(
    loaded: LoadedSweep, results: ResultGrid, best: TrialSummary, sweep_runs: dict[str, str]
) -> tuple[str | None, str | None]:
    result = next(r for r in results if _trial_id(r) == best.trial_id)
    if result.checkpoint is None or best.run_id is None:
        return None, None
    job = trial_job(result.config)
    data = inspect_data(job)
    job, metric_tags = pin_job_metric_model(job, data)  # the model the trials were pinned to
    metrics = {k: float(v) for k, v in (result.metrics or {}).items() if isinstance(v, int | float)}
    target = TrackingTarget(uri=sweep_runs["uri"], run_id=best.run_id)
    with result.checkpoint.as_directory() as directory:
        registered = log_and_register(job, target, Path(directory), metrics, data, metric_tags)
    return registered.model_name, registered.version


def summarise(
    loaded: LoadedSweep,
    path: Path,
    results: ResultGrid,
    trials: list[TrialSummary],
    sweep_runs: dict[str, str] | None,
) -> SweepOutcome:
    """Logs the summary table on the parent run, registers the best trial, puts the sweep's picture,
    the best trial's samples and the ranked table on the parent (report.py), closes the parent."""
    best = _best(loaded, trials)
    model_name = model_version = None
    if sweep_runs is not None:
        client = MlflowClient(tracking_uri=sweep_runs["uri"])
        parent = sweep_runs["parent_run_id"]
        table = _table(loaded, trials)
        client.log_table(parent, table, "summary.json")
        if best is not None:
            model_name, model_version = _register_best(loaded, results, best, sweep_runs)
            client.log_metric(parent, f"best_{loaded.sweep.metric}", best.value or 0.0)
            client.set_tag(parent, "ganforge.best_trial", best.trial_id)
        report = SweepReport(loaded, path.name, trials, best, model_name, model_version)
        log_report(report, sweep_runs)
        status = RunStatus.FINISHED if best is not None else RunStatus.FAILED
        client.set_terminated(parent, status=RunStatus.to_string(status))
    return SweepOutcome(
        name=path.name,
        path=str(path),
        metric=loaded.sweep.metric,
        trials=trials,
        best=best,
        parent_run_id=sweep_runs["parent_run_id"] if sweep_runs else None,
        model_name=model_name,
        model_version=model_version,
        tracking_uri=sweep_runs["uri"] if sweep_runs else None,
    )
