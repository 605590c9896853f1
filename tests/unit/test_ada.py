"""Adaptive augmentation (gan.ada): the p controller, the ops, the objective and the config.

p moves by sign(r_t - target) x images / speed_images every `interval` D steps and agrees across
workers; p = 0 passes inputs through bit for bit, p = 1 changes every sample; gradients flow
through every op; a run with ADA on resumes bit for bit; a job that cannot augment is refused.
"""

from __future__ import annotations

from pathlib import Path

import pytest
import torch
import torch.distributed as dist
import torch.multiprocessing as mp

from ganforge.modalities.audio.augment import AUGMENT_OPS
from ganforge.modalities.image.augment import ADA_OPS
from ganforge.platform.config import AdaConfig, ConfigError, apply_overrides, load_job_dict
from ganforge.platform.gan.ada import AdaptiveAugment, augment
from ganforge.platform.modality import get_modality
from ganforge.platform.runners import loop
from ganforge.platform.runners.local import LocalContext, run_local

CPU = torch.device("cpu")
QUIET = {"tracking.enabled": False, "train.sample_every": 0}


def _logits(n: int, positive: int) -> torch.Tensor:
    """n logits of which `positive` are > 0: sign mean (2 * positive - n) / n."""
    return torch.tensor([1.0] * positive + [-1.0] * (n - positive))


def test_p_rises_when_d_overfits_and_falls_otherwise_by_the_documented_step() -> None:
    ada = AdaptiveAugment(
        AdaConfig(enabled=True, target=0.6, interval=4, speed_images=1000), [ADA_OPS["xflip"]], CPU
    )
    step = 16 * 4 / 1000  # batch x interval (x one worker) / speed_images
    for d_step in range(1, 13):  # r_t = 1 > 0.6: D is overfitting
        ada.observe(_logits(16, 16), images=16)
        assert ada.p.item() == pytest.approx(step * (d_step // 4)), d_step  # moves only every 4th step
    assert ada.rt.item() == 1.0
    for _ in range(4):  # r_t = (12 - 4) / 16 = 0.5 < 0.6: p falls by the same step
        ada.observe(_logits(16, 12), images=16)
    assert ada.rt.item() == 0.5
    assert ada.p.item() == pytest.approx(2 * step)
    for _ in range(40):  # and stops at 0
        ada.observe(_logits(16, 0), images=16)
    assert ada.p.item() == 0.0 and ada.rt.item() == -1.0


def test_p_is_clamped_to_p_max() -> None:
    ada = AdaptiveAugment(
        AdaConfig(enabled=True, interval=1, speed_images=16, p_max=0.8), [ADA_OPS["xflip"]], CPU
    )
    for _ in range(3):  # each update would move p by a full 1.0
        ada.observe(_logits(16, 16), images=16)
    assert ada.p.item() == pytest.approx(0.8)


def _observe_on_worker(rank: int, init_file: str, out: str) -> None:
    dist.init_process_group("gloo", init_method=f"file://{init_file}", rank=rank, world_size=2)
    try:
        ada = AdaptiveAugment(
            AdaConfig(enabled=True, target=0.6, interval=2, speed_images=640), [ADA_OPS["xflip"]], CPU
        )
        for _ in range(2):  # rank 0: r_t 1.0, rank 1: r_t 0.5; together 0.75 > 0.6
            ada.observe(_logits(16, 16 if rank == 0 else 12), images=16)
        torch.save({"p": ada.p, "rt": ada.rt}, f"{out}.{rank}")
    finally:
        dist.destroy_process_group()


def test_r_t_is_averaged_over_workers_and_p_agrees(tmp_path: Path) -> None:
    out = str(tmp_path / "result")
    mp.spawn(_observe_on_worker, args=(str(tmp_path / "init"), out), nprocs=2)
    results = [torch.load(f"{out}.{rank}") for rank in (0, 1)]
    for result in results:
        assert result["rt"].item() == pytest.approx(0.75)
        assert result["p"].item() == pytest.approx(16 * 2 * 2 / 640)  # batch x world x interval / speed


def _images(n: int = 32) -> torch.Tensor:
    return torch.rand(n, 3, 16, 16, generator=torch.Generator().manual_seed(0)) * 2 - 1


def _clips(n: int = 32) -> torch.Tensor:
    return torch.rand(n, 1, 256, generator=torch.Generator().manual_seed(0)) * 2 - 1


OP_CASES = [pytest.param(op, _images, id=f"image-{name}") for name, op in ADA_OPS.items()] + [
    pytest.param(op, _clips, id=f"audio-{op.__name__}") for op in AUGMENT_OPS
]


def _changed(x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    return (x != y).flatten(1).any(dim=1)


@pytest.mark.parametrize(("op", "data"), OP_CASES)
def test_each_op_is_applied_per_sample_with_probability_p(op, data) -> None:
    x = data()
    torch.manual_seed(0)
    assert torch.equal(augment(x, [op], 0.0), x)
    assert _changed(x, augment(x, [op], 1.0)).float().mean() > 0.9  # a shift may draw 0
    assert 0.2 < _changed(x, augment(x, [op], 0.5)).float().mean() < 0.8  # per sample, not per batch


@pytest.mark.parametrize(("ops", "data"), [(tuple(ADA_OPS.values()), _images), (AUGMENT_OPS, _clips)])
def test_p_1_changes_every_sample(ops, data) -> None:
    x = data()
    torch.manual_seed(0)
    assert _changed(x, augment(x, ops, 1.0)).all()


@pytest.mark.parametrize(("op", "data"), OP_CASES)
def test_gradients_flow_through_every_op(op, data) -> None:
    x = data().requires_grad_(True)
    torch.manual_seed(0)
    augment(x, [op], 1.0).square().sum().backward()
    assert x.grad is not None and torch.isfinite(x.grad).all() and x.grad.abs().sum() > 0


def _ada_job(**overrides: object):
    image = get_modality("image")
    raw = next(raw for raw in image.tiny_configs() if raw.get("gan", {}).get("ada", {}).get("enabled"))
    return load_job_dict(apply_overrides(raw, {**QUIET, **overrides}))


def test_the_objective_augments_reals_and_fakes_in_both_steps_and_logs_p(tmp_path: Path) -> None:
    job = _ada_job()
    parts = loop._build(job, LocalContext(tmp_path / "run"))
    objective = parts.objective
    seen: list[bool] = []

    def recording(x: torch.Tensor) -> torch.Tensor:
        seen.append(x.requires_grad)  # the G step's fakes carry G's graph into the op
        return x.flip(3)

    objective.ada.ops = (recording,)
    objective.ada.p = torch.ones(())
    real = parts.sampler.next_batch(job.train.batch_size)
    z = parts.modality.sample_latents(job.model, parts.data.info, job.train.batch_size, parts.latents)
    stats = objective.discriminator_step(real, z, 0)
    assert seen == [False, False]  # reals, then fakes (detached) before D
    stats.update(objective.generator_step(z, real))
    assert seen == [False, False, True]
    assert {"ada_p", "ada_rt"} <= set(stats) and all(
        isinstance(stats[k], torch.Tensor) for k in ("ada_p", "ada_rt")
    )


def test_resume_with_ada_on_is_bit_exact(tmp_path: Path, home: Path) -> None:
    # Two D steps per G step and an interval of 3: the checkpoint at G step 3 (D step 6) falls
    # mid-interval, so the accumulator must be restored too.
    def stats(steps: int, root: Path, resume_from: Path | None = None) -> dict[int, dict[str, float]]:
        job = _ada_job(
            **{
                "train.steps": steps,
                "train.log_every": 1,
                "train.checkpoint_every": 3,
                "gan.n_critic": 2,
                "gan.ada.interval": 3,
            }
        )
        seen: dict[int, dict[str, float]] = {}
        record = lambda s, m: seen.__setitem__(s, {k: v for k, v in m.items() if k != "step_time"})  # noqa: E731
        run_local(job, root, on_progress=record, resume_from=resume_from)
        return seen

    full = stats(8, tmp_path / "full")
    stats(3, tmp_path / "first")
    resumed = stats(8, tmp_path / "second", resume_from=tmp_path / "first/checkpoint_0000003")
    assert len({full[s]["ada_p"] for s in full}) > 2, "p never moved: the test would prove nothing"
    for step in range(4, 9):
        assert resumed[step] == full[step], f"step {step}"


def _tiny(modality: str, **match: object) -> dict:
    return next(
        raw
        for raw in get_modality(modality).tiny_configs()
        if all(raw["model"].get(k) == v for k, v in match.items())
    )


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        pytest.param(
            lambda: _tiny("timeseries", method="timegan"), r"gan\.ada = .*'timegan' objective", id="timegan"
        ),
        pytest.param(lambda: _tiny("tokens"), r"gan\.ada = .*objective", id="tokens"),
        pytest.param(
            lambda: _tiny("toy"),
            r"gan\.ada\.enabled = True: the toy modality provides no augment ops",
            id="toy",
        ),
        pytest.param(
            lambda: _tiny("image", diffaugment="color,translation,cutout"),
            r"model\.diffaugment = .* and gan\.ada\.enabled = True: use one",
            id="image-with-diffaugment",
        ),
    ],
)
def test_ada_is_refused_where_it_cannot_apply(raw, expected: str) -> None:
    with pytest.raises(ConfigError, match=expected) as error:
        load_job_dict(apply_overrides(raw(), {"gan.ada.enabled": True}))
    assert "\n" not in str(error.value)


def test_an_image_job_needs_at_least_one_op() -> None:
    with pytest.raises(ConfigError, match=r"model\.ada_ops"):
        load_job_dict(apply_overrides(_ada_job().to_dict(), {"model.ada_ops": []}))
