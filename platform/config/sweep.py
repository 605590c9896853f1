"""Sweep configs: a base job, a search space over dotted keys, and how Ray Tune explores it.

Validated like job configs: unknown keys are refused, and every space key is tried on the base
job through the same override function as `--set`, so a bad sweep fails before Ray starts.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import Field, PositiveFloat, PositiveInt, ValidationError, model_validator

from ganforge.platform.config.schema import JobConfig, StrictModel, TrackingConfig

DISTRIBUTIONS = ("choice", "grid", "uniform", "loguniform", "randint")


class Distribution(StrictModel):
    """Exactly one of: choice/grid (lists of values), uniform/loguniform [low, high] (floats),
    randint [low, high) (integers, high exclusive as in Ray Tune)."""

    choice: Annotated[list[Any], Field(min_length=1)] | None = None
    grid: Annotated[list[Any], Field(min_length=1)] | None = None
    uniform: tuple[float, float] | None = None
    loguniform: tuple[PositiveFloat, PositiveFloat] | None = None
    randint: tuple[int, int] | None = None

    @model_validator(mode="after")
    def _one_kind(self) -> Distribution:
        given = [name for name in DISTRIBUTIONS if getattr(self, name) is not None]
        if len(given) != 1:
            raise ValueError(f"give exactly one of {', '.join(DISTRIBUTIONS)} (got {len(given)})")
        bounds = getattr(self, given[0])
        if given[0] in ("uniform", "loguniform", "randint") and not bounds[0] < bounds[1]:
            raise ValueError(f"{given[0]}: low must be below high, got {list(bounds)}")
        return self

    @property
    def kind(self) -> str:
        return next(name for name in DISTRIBUTIONS if getattr(self, name) is not None)

    @property
    def values(self) -> Any:
        return getattr(self, self.kind)

    def examples(self) -> list[Any]:
        """Values that must all be valid on the job: every listed value, or both ends of a range."""
        if self.kind in ("choice", "grid"):
            return list(self.values)
        low, high = self.values
        return [low, high - 1 if self.kind == "randint" else high]


class SchedulerConfig(StrictModel):
    """Trial scheduler; intervals are in G steps (the `step` reported every `report_every`)."""

    type: Literal["fifo", "asha", "median", "pbt", "pb2"] = "fifo"
    grace_period: PositiveInt = 1000
    """asha/median: steps before a trial may be stopped."""
    reduction_factor: Annotated[float, Field(gt=1)] = 3.0
    """asha: keep 1/reduction_factor of the trials at each rung."""
    perturbation_interval: PositiveInt = 2000
    """pbt/pb2: steps between exploit/explore rounds (a multiple of report_every)."""
    quantile_fraction: Annotated[float, Field(gt=0, le=0.5)] = 0.25
    resample_probability: Annotated[float, Field(ge=0, le=1)] = 0.25


class SearchConfig(StrictModel):
    type: Literal["random", "optuna", "hyperopt"] = "random"
    seed: Annotated[int, Field(ge=0)] = 0


class ResourcesConfig(StrictModel):
    """Per trial: data-parallel workers, each with `cpu` CPUs and `gpu` GPUs."""

    workers: PositiveInt = 1
    cpu: PositiveInt = 1
    gpu: Annotated[float, Field(ge=0)] = 0
    wait_s: PositiveFloat = 600.0
    """On an autoscaling cluster, how long to wait for a node that can hold one trial."""


class StopConfig(StrictModel):
    steps: PositiveInt | None = None
    """Steps per trial (overrides the base job's train.steps)."""
    time_s: PositiveFloat | None = None
    """Wall-clock seconds per trial."""


class DivergenceConfig(StrictModel):
    """When a trial is hopeless: stopped early and tagged with the reason."""

    nonfinite: bool = True
    """NaN or infinite losses."""
    d_wins_reports: Annotated[int, Field(ge=0)] = 3
    """Stop after this many reports in a row where D wins outright (0: never)."""
    d_wins_gap: PositiveFloat = 10.0
    """D wins outright when mean D(real) - mean D(fake) (logits) exceeds this."""
    collapse_metric: str | None = None
    """A modality metric that signals collapse, e.g. `modes`."""
    collapse_below: float | None = None
    collapse_after: Annotated[int, Field(ge=0)] = 0
    """Steps before the collapse rule applies."""

    @model_validator(mode="after")
    def _collapse_pair(self) -> DivergenceConfig:
        if (self.collapse_metric is None) != (self.collapse_below is None):
            raise ValueError("collapse_metric and collapse_below go together")
        return self


class SweepConfig(StrictModel):
    name: Annotated[str, Field(min_length=1, pattern=r"^[A-Za-z0-9_.-]+$")]
    base: str | None = None
    """Path of the base job YAML (relative to the sweep file), or give `job` inline."""
    job: dict[str, Any] | None = None
    overrides: dict[str, Any] = {}
    """Dotted keys set on the base job for every trial, e.g. {train.steps: 4000}."""
    space: Annotated[dict[str, Distribution], Field(min_length=1)]
    metric: str
    mode: Literal["min", "max"]
    scheduler: SchedulerConfig = SchedulerConfig()
    search: SearchConfig = SearchConfig()
    num_samples: PositiveInt = 8
    """Trials to sample (each grid point is run num_samples times, as in Ray Tune)."""
    max_concurrent: PositiveInt | None = None
    resources: ResourcesConfig = ResourcesConfig()
    report_every: PositiveInt = 500
    """Steps between reports (with evaluation and a checkpoint) that schedulers act on."""
    stop: StopConfig = StopConfig()
    divergence: DivergenceConfig = DivergenceConfig()
    tracking: TrackingConfig | None = None
    """MLflow settings of the sweep (default: the base job's)."""
    storage_path: str | None = None
    """Where Ray Tune keeps trials and checkpoints (default: <GANFORGE_HOME>/sweeps)."""

    @model_validator(mode="after")
    def _coherent(self) -> SweepConfig:
        if (self.base is None) == (self.job is None):
            raise ValueError("give exactly one of `base` (a job file) or `job` (inline)")
        kinds = {dist.kind for dist in self.space.values()}
        if "grid" in kinds and self.search.type != "random":
            raise ValueError(f"grid values need search.type random, not {self.search.type}")
        if self.scheduler.type == "pb2" and kinds - {"uniform", "loguniform", "randint"}:
            raise ValueError("pb2 explores continuous bounds: use uniform, loguniform or randint only")
        if self.scheduler.type in ("pbt", "pb2") and self.scheduler.perturbation_interval % self.report_every:
            raise ValueError("scheduler.perturbation_interval must be a multiple of report_every")
        return self


def describe(error: ValidationError) -> str:
    from ganforge.platform.config.loading import describe_validation_error

    return describe_validation_error(error, SweepConfig)


def base_job_dict(sweep: SweepConfig, sweep_file: Path | None) -> dict[str, Any]:
    """The base job as plain data, before the space is applied."""
    from ganforge.platform.config.loading import read_yaml

    if sweep.job is not None:
        return dict(sweep.job)
    assert sweep.base is not None
    path = Path(sweep.base)
    if not path.is_absolute() and sweep_file is not None:
        path = sweep_file.parent / path
    return read_yaml(path)


def trial_overrides(sweep: SweepConfig) -> dict[str, Any]:
    """What every trial sets on top of the base job: reports, evaluation, stop steps, resources."""
    from ganforge.platform.config.loading import flatten_values

    fixed: dict[str, Any] = flatten_values(sweep.overrides)
    fixed.update(
        {
            "train.checkpoint_every": sweep.report_every,
            "train.eval_every": sweep.report_every,
            "train.workers": sweep.resources.workers,
            "train.cpus_per_worker": sweep.resources.cpu,
            "train.use_gpu": sweep.resources.gpu > 0,
        }
    )
    if sweep.stop.steps is not None:
        fixed["train.steps"] = sweep.stop.steps
    return fixed


def check_job(job: JobConfig, sweep: SweepConfig) -> None:
    """Sweep settings that only make sense against the job (raises ValueError)."""
    if job.train.steps % sweep.report_every:
        raise ValueError(
            f"train.steps = {job.train.steps} must be a multiple of report_every = {sweep.report_every}"
        )
