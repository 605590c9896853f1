"""Sweep files: validation with one-line errors, and every scheduler / searcher they can name."""

from __future__ import annotations

import math
from collections.abc import Callable
from pathlib import Path
from typing import Any, get_args

import numpy as np
import pytest
import yaml
from ray.tune.schedulers import (
    ASHAScheduler,
    FIFOScheduler,
    MedianStoppingRule,
    PopulationBasedTraining,
    TrialScheduler,
)
from ray.tune.schedulers.pb2 import PB2
from ray.tune.search import BasicVariantGenerator
from ray.tune.search.hyperopt import HyperOptSearch
from ray.tune.search.optuna import OptunaSearch

from ganforge.pipelines.sweep import load_sweep_file
from ganforge.platform.config import ConfigError, apply_overrides
from ganforge.platform.config.sweep import DivergenceConfig, SchedulerConfig, SearchConfig
from ganforge.platform.sweeps.schedulers import TIME_ATTR, build_scheduler, build_searcher
from ganforge.platform.sweeps.stopper import DivergenceStopper

REPO = Path(__file__).resolve().parents[2]
TINY = REPO / "configs" / "sweeps" / "toy_tiny.yaml"


def _sweep_file(tmp_path: Path, **changes) -> Path:
    raw = apply_overrides(yaml.safe_load(TINY.read_text()), {})
    raw.update(changes)
    path = tmp_path / "sweep.yaml"
    path.write_text(yaml.safe_dump(raw))
    return path


@pytest.mark.parametrize("path", sorted((REPO / "configs" / "sweeps").glob("*.yaml")), ids=lambda p: p.name)
def test_shipped_sweeps_validate(path: Path) -> None:
    loaded = load_sweep_file(path)
    assert loaded.job.train.eval_every == loaded.sweep.report_every


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"num_sample": 3}, "num_sample: unknown key"),
        ({"space": {"gan.nope": {"choice": [1]}}}, "space.gan.nope: gan.nope: unknown key"),
        ({"space": {"gan.g_opt.lr": {"uniform": [0.1, 0.01]}}}, "low must be below high"),
        ({"space": {"gan.n_critic": {"choice": [1, 0]}}}, "gan.n_critic = 0"),
        ({"metric": "fid"}, "metric = 'fid': not reported"),
        ({"scheduler": {"type": "pb2"}}, "pb2 explores continuous bounds"),
        ({"space": {"gan.loss": {"grid": ["hinge"]}}, "search": {"type": "optuna"}}, "grid values need"),
        ({"report_every": 30}, "must be a multiple of report_every"),
    ],
)
def test_bad_sweep_is_one_clear_line(tmp_path: Path, changes: dict, message: str) -> None:
    with pytest.raises(ConfigError) as error:
        load_sweep_file(_sweep_file(tmp_path, **changes))
    text = str(error.value)
    assert message in text and "\n" not in text and text.startswith(str(tmp_path))


SPACE = {"gan.g_opt.lr": {"loguniform": [1e-4, 1e-2]}, "gan.n_critic": {"randint": [1, 3]}}
# Not the defaults, so a builder that ignores the sweep file is caught. toy_tiny trains 40 steps.
SCHEDULER_SETTINGS = {
    "grace_period": 20,
    "reduction_factor": 2.0,
    "perturbation_interval": 40,
    "quantile_fraction": 0.5,
    "resample_probability": 0.1,
}


def _rung_milestones(scheduler: ASHAScheduler) -> list[float]:
    """The steps at which ASHA compares trials: grace_period * reduction_factor**k, up to max_t."""
    (bracket,) = scheduler._brackets
    return sorted(milestone for milestone, _ in bracket._rungs)


def _check_fifo(scheduler: TrialScheduler) -> None:
    assert type(scheduler) is FIFOScheduler


def _check_asha(scheduler: TrialScheduler) -> None:
    assert type(scheduler) is ASHAScheduler
    assert scheduler._time_attr == TIME_ATTR
    assert scheduler._max_t == 40  # train.steps
    assert scheduler._reduction_factor == 2.0
    assert _rung_milestones(scheduler) == [20, 40]


def _check_median(scheduler: TrialScheduler) -> None:
    assert type(scheduler) is MedianStoppingRule
    assert scheduler._time_attr == TIME_ATTR
    assert scheduler._grace_period == 20


def _check_pbt(scheduler: TrialScheduler) -> None:
    assert type(scheduler) is PopulationBasedTraining
    assert scheduler._time_attr == TIME_ATTR
    assert scheduler._perturbation_interval == 40
    assert scheduler._quantile_fraction == 0.5
    assert scheduler._resample_probability == 0.1
    assert set(scheduler._hyperparam_mutations) == set(SPACE)


def _check_pb2(scheduler: TrialScheduler) -> None:
    assert type(scheduler) is PB2
    assert scheduler._time_attr == TIME_ATTR
    assert scheduler._perturbation_interval == 40
    assert scheduler._quantile_fraction == 0.5
    assert scheduler._hyperparam_bounds == {"gan.g_opt.lr": [1e-4, 1e-2], "gan.n_critic": [1.0, 3.0]}


SCHEDULER_CHECKS: dict[str, Callable[[TrialScheduler], None]] = {
    "fifo": _check_fifo,
    "asha": _check_asha,
    "median": _check_median,
    "pbt": _check_pbt,
    "pb2": _check_pb2,
}


def test_every_scheduler_kind_is_checked() -> None:
    assert set(SCHEDULER_CHECKS) == set(get_args(SchedulerConfig.model_fields["type"].annotation))


@pytest.mark.parametrize("kind", sorted(SCHEDULER_CHECKS))
def test_scheduler_is_the_kind_the_file_names(tmp_path: Path, kind: str) -> None:
    scheduler = {"type": kind, **SCHEDULER_SETTINGS}
    loaded = load_sweep_file(_sweep_file(tmp_path, space=SPACE, scheduler=scheduler))
    SCHEDULER_CHECKS[kind](build_scheduler(loaded.sweep, loaded.job.train.steps))


def test_asha_grace_period_is_capped_at_the_run_length(tmp_path: Path) -> None:
    loaded = load_sweep_file(_sweep_file(tmp_path, scheduler={"type": "asha", "grace_period": 1000}))
    scheduler = build_scheduler(loaded.sweep, loaded.job.train.steps)
    assert _rung_milestones(scheduler) == [40]


def _random_seed_matches(searcher: BasicVariantGenerator, seed: int) -> bool:
    """The searcher's generator draws what a generator seeded with `seed` draws."""
    rng = searcher._random_state.rng  # numpy's global module when unseeded
    if not isinstance(rng, np.random.Generator):
        return False
    return rng.integers(2**31) == np.random.default_rng(seed).integers(2**31)


def _hyperopt_seed_matches(searcher: HyperOptSearch, seed: int) -> bool:
    return searcher.rstate.randint(2**31) == np.random.RandomState(seed).randint(2**31)


SEARCHER_CHECKS: dict[str, tuple[type, Callable[[Any, int], bool]]] = {
    "random": (BasicVariantGenerator, _random_seed_matches),
    "optuna": (OptunaSearch, lambda searcher, seed: searcher._seed == seed),
    "hyperopt": (HyperOptSearch, _hyperopt_seed_matches),
}


def test_every_searcher_kind_is_checked() -> None:
    assert set(SEARCHER_CHECKS) == set(get_args(SearchConfig.model_fields["type"].annotation))


@pytest.mark.parametrize("kind", sorted(SEARCHER_CHECKS))
def test_searcher_is_the_kind_the_file_names_and_seeded(tmp_path: Path, kind: str) -> None:
    loaded = load_sweep_file(_sweep_file(tmp_path, space=SPACE, search={"type": kind, "seed": 3}))
    searcher = build_searcher(loaded.sweep)
    expected_class, seeded_with = SEARCHER_CHECKS[kind]
    assert type(searcher) is expected_class
    assert seeded_with(searcher, 3)


def test_stopper_reasons() -> None:
    cfg = DivergenceConfig(
        d_wins_reports=2, d_wins_gap=5.0, collapse_metric="modes", collapse_below=2, collapse_after=100
    )
    stopper = DivergenceStopper(cfg, time_s=60)
    assert stopper("a", {"step": 10, "loss_d": math.nan, "loss_g": 1.0})
    assert stopper.reasons["a"].startswith("non-finite loss_d")
    assert not stopper("b", {"step": 10, "d_real": 9.0, "d_fake": -1.0})
    assert not stopper("b", {"step": 20, "d_real": 1.0, "d_fake": 0.0})  # the run of wins restarts
    assert not stopper("b", {"step": 30, "d_real": 9.0, "d_fake": -1.0})
    assert stopper("b", {"step": 40, "d_real": 9.0, "d_fake": -1.0})
    assert "discriminator wins outright" in stopper.reasons["b"]
    assert not stopper("c", {"step": 50, "modes": 1})  # before collapse_after
    assert stopper("c", {"step": 100, "modes": 1})
    assert stopper("d", {"step": 5, "time_total_s": 61})
    assert set(stopper.reasons) == {"a", "b", "c", "d"}
