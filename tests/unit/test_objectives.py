"""Every objective of every modality: the platform owns its optimizers.

After a restore with mutated learning rates, betas and weight decay (what a PBT/PB2 exploit
does), every optimizer the objective declares carries the mutated values and keeps the donor's
moments; resuming reproduces the uninterrupted run bit for bit; a gan.* option the objective
would ignore is refused when the config loads.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from ganforge.platform.config import ConfigError, OptimizerConfig, apply_overrides, load_job_dict
from ganforge.platform.config.schema import JobConfig
from ganforge.platform.gan.objective import unsupported_options
from ganforge.platform.modality import get_modality, modality_names
from ganforge.platform.runners import checkpoint, loop
from ganforge.platform.runners.local import LocalContext, run_local

MUTATED = {"lr": 0.0123, "betas": [0.11, 0.77], "weight_decay": 0.001}
QUIET = {"tracking.enabled": False, "train.sample_every": 0}


def _cases() -> list[Any]:
    cases = []
    for name in modality_names():
        modality = get_modality(name)
        for raw in modality.tiny_configs():
            objective = modality.objective(load_job_dict(raw).model)
            cases.append(pytest.param(raw, id=f"{name}-{objective.name}-{raw['name']}"))
    return cases


def _optimizer_keys(job: JobConfig) -> list[str]:
    """Dotted keys of every optimizer setting the job's objective reads (gan.g_opt, model.mle_opt...)."""
    honoured = get_modality(job.modality).objective(job.model).honours()
    gan = [
        f"gan.{name}" for name, value in job.gan if isinstance(value, OptimizerConfig) and name in honoured
    ]
    return gan + [f"model.{name}" for name, value in job.model if isinstance(value, OptimizerConfig)]


def _train_and_save(job: JobConfig, folder: Path, steps: int) -> Path:
    """`steps` loop steps of `job` (every phase of a tiny config), then a checkpoint in `folder`."""
    parts = loop._build(job, LocalContext(folder / "run"))
    for step in range(steps):
        parts.objective.start_step(step)
        real = parts.sampler.next_batch(job.train.batch_size)
        z = parts.modality.sample_latents(job.model, parts.data.info, job.train.batch_size, parts.latents)
        parts.objective.discriminator_step(real, z, step)
        parts.objective.generator_step(z, real)
    checkpoint.save(folder / "ckpt", 0, loop._training_state(parts, steps), loop._rng_state(parts))
    return folder / "ckpt"


@pytest.mark.parametrize("raw", _cases())
def test_restore_applies_mutated_settings_to_every_optimizer(raw: dict, tmp_path: Path, home: Path) -> None:
    donor = load_job_dict(apply_overrides(raw, QUIET))
    saved = _train_and_save(donor, tmp_path, steps=4)
    keys = _optimizer_keys(donor)
    mutated = load_job_dict(
        apply_overrides(raw, {**QUIET, **{f"{key}.{k}": v for key in keys for k, v in MUTATED.items()}})
    )

    parts = loop._build(mutated, LocalContext(tmp_path / "trial"))
    loop._resume(parts, saved, rank=0)
    optimizers = parts.objective.optimizers
    assert set(optimizers) == set(parts.objective.specs) and optimizers
    for name, optimizer in optimizers.items():
        for group in optimizer.param_groups:
            assert group["lr"] == MUTATED["lr"], name
            assert group["betas"] == tuple(MUTATED["betas"]), name
            assert group["weight_decay"] == MUTATED["weight_decay"], name
    stepped = [name for name, optimizer in optimizers.items() if optimizer.state]
    assert stepped, "the donor's optimizer moments were not restored"


@pytest.mark.parametrize("raw", _cases())
def test_resume_reproduces_every_objective_exactly(raw: dict, tmp_path: Path, home: Path) -> None:
    def job(steps: int) -> JobConfig:
        overrides = {**QUIET, "train.steps": steps, "train.log_every": 1, "train.checkpoint_every": 3}
        return load_job_dict(apply_overrides(raw, overrides))

    def stats(steps: int, root: Path, resume_from: Path | None = None) -> dict[int, dict[str, float]]:
        seen: dict[int, dict[str, float]] = {}
        record = lambda s, m: seen.__setitem__(s, {k: v for k, v in m.items() if k != "step_time"})  # noqa: E731
        run_local(job(steps), root, on_progress=record, resume_from=resume_from)
        return seen

    full = stats(6, tmp_path / "full")
    resumed = stats(6, tmp_path / "second", resume_from=_first_half(job(3), tmp_path / "first"))
    assert sorted(resumed) == [4, 5, 6]
    for step in (4, 5, 6):
        assert resumed[step] == full[step], f"step {step}"


def _first_half(job: JobConfig, root: Path) -> Path:
    run_local(job, root)
    return root / "checkpoint_0000003"


def test_an_option_the_objective_ignores_is_refused() -> None:
    timegan = next(
        raw for raw in get_modality("timeseries").tiny_configs() if raw["model"]["method"] == "timegan"
    )
    with pytest.raises(
        ConfigError, match=r"gan\.loss = 'hinge': the 'timegan' objective of this timeseries job ignores it"
    ):
        load_job_dict(apply_overrides(timegan, {"gan.loss": "hinge"}))
    seqgan = get_modality("tokens").tiny_configs()[0]
    with pytest.raises(ConfigError, match=r"gan\.r1_gamma = 1\.0: the 'seqgan' objective"):
        load_job_dict(apply_overrides(seqgan, {"gan.r1_gamma": 1.0}))
    # A dumped config (every key, defaults included) loads again: only non-default values count.
    job = load_job_dict(timegan)
    assert load_job_dict(job.to_dict()) == job
    assert unsupported_options(get_modality("timeseries").objective(job.model), job.gan) == []
