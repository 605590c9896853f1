"""gan.lr_decay: the factor's shape, the loop applying it to the optimizers, and resuming mid-decay."""

from __future__ import annotations

import math
from pathlib import Path

import pytest
import torch

from ganforge.platform.config.schema import LrDecayConfig
from ganforge.platform.gan.lr_decay import lr_factor
from ganforge.platform.runners.local import run_local
from tests.unit.test_resume import _job, _losses


@pytest.mark.parametrize(
    ("kind", "step", "expected"),
    [
        ("none", 90, 1.0),
        ("linear", 0, 1.0),
        ("linear", 50, 1.0),  # the first half at the full rate
        ("linear", 75, 0.55),  # halfway down from 1 to 0.1
        ("linear", 100, 0.1),
        ("linear", 250, 0.1),  # held after the horizon
        ("cosine", 75, 0.55),  # the half cosine passes the midpoint at the middle
        ("cosine", 60, 0.1 + 0.9 * 0.5 * (1 + math.cos(math.pi * 0.2))),
    ],
)
def test_the_factor_holds_then_falls_to_final_at_the_horizon(kind: str, step: int, expected: float) -> None:
    cfg = LrDecayConfig(kind=kind, start=0.5, final=0.1, steps=100)
    assert lr_factor(step, cfg, train_steps=10**6) == pytest.approx(expected)


def test_the_horizon_defaults_to_train_steps() -> None:
    assert lr_factor(30, LrDecayConfig(kind="linear"), train_steps=40) == pytest.approx(0.25)


def test_the_loop_sets_every_optimizer_lr_and_logs_the_factor(tmp_path: Path) -> None:
    job = _job(20, **{"gan.lr_decay.kind": "linear", "gan.g_opt.lr": 1e-3, "gan.d_opt.lr": 4e-3})
    seen: dict[int, float] = {}
    _, final = run_local(job, tmp_path, on_progress=lambda s, m: seen.__setitem__(s, m["lr_factor"]))

    # Logged after step `done`, whose update used the factor of 0-based step done - 1.
    assert seen[1] == pytest.approx(1.0) and seen[20] == pytest.approx(1 - 19 / 20)
    groups = torch.load(final / "state.pt", weights_only=False)["optimizers"]
    assert groups["generator"]["param_groups"][0]["lr"] == pytest.approx(1e-3 / 20)
    assert groups["discriminator"]["param_groups"][0]["lr"] == pytest.approx(4e-3 / 20)


def test_a_run_resumed_mid_decay_reproduces_the_uninterrupted_one(tmp_path: Path) -> None:
    decay = {"gan.lr_decay.kind": "cosine", "gan.lr_decay.steps": 30, "gan.lr_decay.final": 0.2}
    full = _losses(_job(30, **decay), tmp_path / "full")
    _losses(_job(20, **decay), tmp_path / "first")
    checkpoint = tmp_path / "first/checkpoint_0000020"
    resumed = _losses(_job(30, **decay), tmp_path / "second", resume_from=checkpoint)
    for step in range(21, 31):
        assert resumed[step] == full[step], f"step {step}"
    assert full[30] != _losses(_job(30), tmp_path / "plain")[30]  # the decay changed training
