"""Resuming in-process from a checkpoint reproduces the uninterrupted run exactly."""

from __future__ import annotations

from pathlib import Path

from ganforge.modalities.toy import MODALITY
from ganforge.platform.config import apply_overrides, load_job_dict
from ganforge.platform.runners.local import run_local


def _job(steps: int, **extra):
    raw = apply_overrides(
        MODALITY.tiny_config(),
        {
            "train.steps": steps,
            "train.log_every": 1,
            "train.checkpoint_every": 10,
            "train.sample_every": 0,
            "tracking.enabled": False,
            "gan.n_critic": 2,
            "gan.r1_gamma": 1.0,
            "gan.r1_every": 3,
            "gan.ema.rampup": 0.1,
            **extra,
        },
    )
    return load_job_dict(raw)


def _losses(job, root: Path, resume_from: Path | None = None) -> dict[int, tuple[float, float]]:
    seen: dict[int, tuple[float, float]] = {}
    run_local(
        job,
        root,
        on_progress=lambda s, m: seen.__setitem__(s, (m["loss_d"], m["loss_g"])),
        resume_from=resume_from,
    )
    return seen


def test_resume_reproduces_losses_exactly(tmp_path: Path) -> None:
    full = _losses(_job(30), tmp_path / "full")
    _losses(_job(20), tmp_path / "first")  # an interrupted run: stops at step 20
    resumed = _losses(_job(30), tmp_path / "second", resume_from=tmp_path / "first/checkpoint_0000020")
    assert sorted(resumed) == list(range(21, 31))
    for step in range(21, 31):
        assert resumed[step] == full[step], f"step {step}: {resumed[step]} != {full[step]}"


def test_different_seed_gives_different_losses(tmp_path: Path) -> None:
    a = _losses(_job(5), tmp_path / "a")
    b = _losses(_job(5, **{"train.seed": 1}), tmp_path / "b")
    assert a[5] != b[5]
