"""Tune schedulers and search algorithms from a SweepConfig.

All schedulers measure time in G steps (`step`, in every report), so intervals in a sweep file
mean the same thing whatever the report rate.
"""

from __future__ import annotations

from ray.tune.schedulers import (
    ASHAScheduler,
    FIFOScheduler,
    MedianStoppingRule,
    PopulationBasedTraining,
    TrialScheduler,
)
from ray.tune.search import BasicVariantGenerator, Searcher

from ganforge.platform.config.sweep import SweepConfig
from ganforge.platform.sweeps.space import pb2_bounds, pbt_mutations

TIME_ATTR = "step"


def build_scheduler(sweep: SweepConfig, max_steps: int) -> TrialScheduler:
    cfg = sweep.scheduler
    if cfg.type == "asha":
        return ASHAScheduler(
            time_attr=TIME_ATTR,
            max_t=max_steps,
            grace_period=min(cfg.grace_period, max_steps),
            reduction_factor=cfg.reduction_factor,
        )
    if cfg.type == "median":
        return MedianStoppingRule(time_attr=TIME_ATTR, grace_period=cfg.grace_period)
    if cfg.type == "pbt":
        return PopulationBasedTraining(
            time_attr=TIME_ATTR,
            perturbation_interval=cfg.perturbation_interval,
            hyperparam_mutations=pbt_mutations(sweep.space),
            quantile_fraction=cfg.quantile_fraction,
            resample_probability=cfg.resample_probability,
            synch=False,
        )
    if cfg.type == "pb2":
        from ray.tune.schedulers.pb2 import PB2  # needs GPy; imported only when asked for

        return PB2(
            time_attr=TIME_ATTR,
            perturbation_interval=cfg.perturbation_interval,
            hyperparam_bounds=pb2_bounds(sweep.space),
            quantile_fraction=cfg.quantile_fraction,
        )
    return FIFOScheduler()


def build_searcher(sweep: SweepConfig) -> Searcher | BasicVariantGenerator:
    """Random sampling (seeded), or Optuna's TPE / HyperOpt (seeded). Concurrency is limited by
    TuneConfig.max_concurrent_trials, whatever the searcher."""
    seed = sweep.search.seed
    if sweep.search.type == "random":
        return BasicVariantGenerator(random_state=seed)
    if sweep.search.type == "optuna":
        from ray.tune.search.optuna import OptunaSearch

        return OptunaSearch(seed=seed)
    from ray.tune.search.hyperopt import HyperOptSearch

    return HyperOptSearch(random_state_seed=seed)
