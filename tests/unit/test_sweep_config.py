"""Sweep files: validation with one-line errors, and every scheduler / searcher they can name."""

from __future__ import annotations

import math
from pathlib import Path

import pytest
import torch
import yaml

from ganforge.modalities.toy import MODALITY
from ganforge.pipelines.sweep import load_sweep_file
from ganforge.platform.config import ConfigError, apply_overrides, load_job_dict
from ganforge.platform.config.sweep import DivergenceConfig
from ganforge.platform.runners.local import run_local
from ganforge.platform.sweeps.schedulers import build_scheduler, build_searcher
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


@pytest.mark.parametrize("scheduler", ["fifo", "asha", "median", "pbt", "pb2"])
@pytest.mark.parametrize("search", ["random", "optuna", "hyperopt"])
def test_every_scheduler_and_searcher_builds(tmp_path: Path, scheduler: str, search: str) -> None:
    space = {"gan.g_opt.lr": {"loguniform": [1e-4, 1e-2]}, "gan.n_critic": {"randint": [1, 3]}}
    path = _sweep_file(
        tmp_path, space=space, scheduler={"type": scheduler}, search={"type": search, "seed": 3}
    )
    loaded = load_sweep_file(path)
    assert build_scheduler(loaded.sweep, loaded.job.train.steps) is not None
    assert build_searcher(loaded.sweep) is not None


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


def test_resume_reapplies_mutated_optimizer_settings(tmp_path: Path) -> None:
    """A PBT exploit restores the donor's checkpoint, then the trial's (mutated) config wins."""
    raw = apply_overrides(MODALITY.tiny_config(), {"tracking.enabled": False, "train.sample_every": 0})
    _, first = run_local(load_job_dict(raw), tmp_path / "donor")
    mutated = load_job_dict(apply_overrides(raw, {"gan.g_opt.lr": 0.005, "gan.d_opt.betas": [0.0, 0.9]}))
    from ganforge.platform.runners import loop
    from ganforge.platform.runners.local import LocalContext

    ctx = LocalContext(tmp_path / "trial")
    parts = loop._build(mutated, ctx)
    loop._resume(mutated, parts, first, rank=0)
    assert all(group["lr"] == 0.005 for group in parts.opt_g.param_groups)
    assert all(group["betas"] == (0.0, 0.9) for group in parts.opt_d.param_groups)
    assert torch.is_tensor(next(iter(parts.opt_g.state.values()))["exp_avg"])  # the donor's moments
