"""Running a sweep on Ray Tune, then summarising it in MLflow and registering the best trial."""

from __future__ import annotations

import json
import time
from dataclasses import replace
from pathlib import Path

from ray import tune

from ganforge.pipelines.sweep.config import LoadedSweep
from ganforge.pipelines.sweep.outcome import SweepOutcome
from ganforge.pipelines.sweep.summary import summarise, trial_summaries
from ganforge.pipelines.train.handoff import fetch_handoff, registered_start
from ganforge.pipelines.train.job import inspect_data, pin_job_metric_model
from ganforge.platform.cluster.connect import connect
from ganforge.platform.cluster.resources import ResourceRequest, require_resources
from ganforge.platform.config.loading import apply_overrides, load_job_dict
from ganforge.platform.errors import ConfigError
from ganforge.platform.metrics.jobs import pinned_uri
from ganforge.platform.metrics.store import PIN_KEY
from ganforge.platform.runners.tune_trial import BEST_ROOT_KEY, JOB_KEY, SWEEP_KEY, tune_trainable
from ganforge.platform.settings import JobSettings
from ganforge.platform.sweeps.schedulers import build_scheduler, build_searcher
from ganforge.platform.sweeps.space import param_space
from ganforge.platform.sweeps.stopper import DivergenceStopper
from ganforge.platform.tracking.store import check_reachable, tracking_uri
from ganforge.platform.tracking.sweep_runs import open_parent_run

STATE_FILE = "ganforge-sweep.json"
START_KEY = "model.init_generator"


def _experiment_dir(loaded: LoadedSweep, home: Path, resume: bool) -> Path:
    root = Path(loaded.sweep.storage_path or home / "sweeps")
    if not resume:
        return root / f"{loaded.sweep.name}-{time.strftime('%Y%m%d-%H%M%S')}"
    candidates = sorted(p.parent for p in root.glob(f"{loaded.sweep.name}-*/{STATE_FILE}"))
    if not candidates:
        raise ConfigError(f"--resume: no earlier sweep named '{loaded.sweep.name}' under {root}")
    return candidates[-1]


def _tuner(loaded: LoadedSweep, path: Path, sweep_runs: dict[str, str] | None, resume: bool) -> tune.Tuner:
    sweep, job = loaded.sweep, loaded.job
    resources = {"cpu": sweep.resources.cpu, "gpu": sweep.resources.gpu}
    if sweep.resources.workers > 1:
        resources = {"cpu": 0}  # the nested TorchTrainer's workers reserve their own resources
    trainable = tune.with_resources(tune_trainable, resources)
    # Each trial keeps its best checkpoint (train.keep_best) in <sweep folder>/best/<trial id>.
    space = {
        JOB_KEY: loaded.base,
        SWEEP_KEY: sweep_runs,
        BEST_ROOT_KEY: str(path / "best"),
        **param_space(sweep.space),
    }
    if resume:
        return tune.Tuner.restore(
            str(path), trainable, resume_unfinished=True, resume_errored=False, param_space=space
        )
    return tune.Tuner(
        trainable,
        param_space=space,
        tune_config=tune.TuneConfig(
            metric=sweep.metric,
            mode=sweep.mode,
            scheduler=build_scheduler(sweep, job.train.steps),
            search_alg=build_searcher(sweep),
            num_samples=sweep.num_samples,
            max_concurrent_trials=sweep.max_concurrent,
            # A trial process imports torch, Ray Train and MLflow: seconds per trial that short
            # trials would pay again and again. Reused actors pay it once per concurrent slot.
            reuse_actors=True,
        ),
        run_config=tune.RunConfig(
            name=path.name,
            storage_path=str(path.parent),
            stop=DivergenceStopper(sweep.divergence, sweep.stop.time_s, sweep_runs),
            # A failed trial is a result of the sweep (e.g. diverged), not something to retry.
            failure_config=tune.FailureConfig(max_failures=0),
            checkpoint_config=tune.CheckpointConfig(num_to_keep=job.train.keep_checkpoints),
            verbose=0,
        ),
    )


def _open_tracking(loaded: LoadedSweep, path: Path, resume: bool) -> dict[str, str] | None:
    tracking = loaded.sweep.tracking or loaded.job.tracking
    if not tracking.enabled:
        return None
    check_reachable(tracking_uri(tracking))
    state = path / STATE_FILE
    if resume:
        return json.loads(state.read_text())["tracking"]
    sweep_runs = open_parent_run(tracking, path.name, loaded.sweep.model_dump(mode="json"))
    path.mkdir(parents=True, exist_ok=True)
    state.write_text(json.dumps({"tracking": sweep_runs}))
    return sweep_runs


def _pin_metric_model(loaded: LoadedSweep) -> LoadedSweep:
    """Every trial scores with the one metric model the driver resolved (and stored) here: a
    sweep whose trials ran on two nodes must not rank them with two rulers."""
    job, _ = pin_job_metric_model(loaded.job, inspect_data(loaded.job))
    if job is loaded.job:
        return loaded
    base = apply_overrides(loaded.base, {PIN_KEY: pinned_uri(job)})
    return replace(loaded, base=base, job=job)


def _fetch_registered_starts(loaded: LoadedSweep) -> None:
    """Fetches the hand-off state of every registered start a trial can name (the base job's
    model.init_generator and each value the space gives it) into this home's cache, once, on the
    driver, as `ganforge train` does: trials read it there and never talk to the registry."""
    jobs = [loaded.job]
    if START_KEY in loaded.sweep.space:
        for value in loaded.sweep.space[START_KEY].examples():  # a choice: every value
            jobs.append(load_job_dict(apply_overrides(loaded.base, {START_KEY: value}), source=loaded.source))
    starts = {uri: job for job in jobs if (uri := registered_start(job)) is not None}
    if not starts:
        return
    tracking = loaded.sweep.tracking or loaded.job.tracking
    check_reachable(tracking_uri(tracking, create=False))  # an unreachable server is said in seconds
    for job in starts.values():
        fetch_handoff(job, tracking_uri(tracking))


def run_sweep(
    loaded: LoadedSweep,
    resume: bool = False,
    address: str | None = None,
    settings: JobSettings | None = None,
) -> SweepOutcome:
    """Runs (or resumes) the sweep; returns every trial's outcome and the registered best.

    Args:
        settings: the sweep's home folder, tracking and S3 settings, for this process and the
            trials; default: resolved once, here, from its tracking section and the environment.
            None of them is left in os.environ afterwards.
    """
    settings = settings or JobSettings.resolve(loaded.sweep.tracking or loaded.job.tracking)
    with settings.applied():
        return _run_sweep(loaded, settings, resume, address)


def _run_sweep(loaded: LoadedSweep, settings: JobSettings, resume: bool, address: str | None) -> SweepOutcome:
    path = _experiment_dir(loaded, settings.home, resume)
    _fetch_registered_starts(loaded)  # before anything starts: an unknown start leaves nothing behind
    # Before the sweep's MLflow run: a trial no node can hold is refused now, not waited on forever.
    connect(address, settings=settings)
    require_resources(ResourceRequest.for_trial(loaded.sweep.resources))
    sweep_runs = _open_tracking(loaded, path, resume)
    if not resume and sweep_runs is None:
        path.mkdir(parents=True, exist_ok=True)
        (path / STATE_FILE).write_text(json.dumps({"tracking": None}))
    if sweep_runs is not None:
        loaded = _pin_metric_model(loaded)
    results = _tuner(loaded, path, sweep_runs, resume).fit()
    trials = trial_summaries(loaded, results, sweep_runs)
    return summarise(loaded, path, results, trials, sweep_runs)
