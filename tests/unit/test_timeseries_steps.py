"""Timeseries objectives: TimeGAN's phases through the loop's own construction, its optimizers
and options, and a bit-exact resume; convgan trains with the platform's adversarial objective."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch

from ganforge.modalities.timeseries import MODALITY
from ganforge.modalities.timeseries import objective as timegan
from ganforge.modalities.timeseries.nets import ConvSeriesGenerator, TimeGanGenerator
from ganforge.modalities.timeseries.objective import TimeGanObjective
from ganforge.modalities.timeseries.tiny import tiny_series
from ganforge.platform.config import ConfigError, apply_overrides, load_job_dict
from ganforge.platform.gan import AdversarialObjective, GanNets, Objective
from ganforge.platform.runners.local import run_local
from ganforge.platform.runners.loop import build_objective


def _objective(raw: dict) -> tuple[Objective, torch.nn.Module, torch.nn.Module, torch.Tensor, dict]:
    job = load_job_dict(raw)
    data = MODALITY.prepare(job.data)
    g, d = MODALITY.build_generator(job.model, data), MODALITY.build_discriminator(job.model, data)
    objective = build_objective(job, GanNets(g, d, g, d), torch.device("cpu"))
    return objective, g, d, data.dataset.tensors[0][:16], data.info  # type: ignore[attr-defined]


def _params(module: torch.nn.Module) -> list[torch.Tensor]:
    return [p.detach().clone() for p in module.parameters()]


def _changed(before: list[torch.Tensor], module: torch.nn.Module) -> bool:
    return any(not torch.equal(a, b) for a, b in zip(before, module.parameters(), strict=True))


def test_each_method_gets_its_objective_and_networks() -> None:
    timegan_obj, g, _, _, _ = _objective(tiny_series("timegan"))
    assert type(timegan_obj) is TimeGanObjective and type(g) is TimeGanGenerator
    convgan_obj, g, _, _, _ = _objective(tiny_series("convgan"))
    assert type(convgan_obj) is AdversarialObjective and type(g) is ConvSeriesGenerator


def test_timegan_declares_three_optimizers_over_disjoint_parameters() -> None:
    objective, g, d, _, _ = _objective(tiny_series())
    assert isinstance(g, TimeGanGenerator)
    assert set(objective.optimizers) == {"embedder_recovery", "generator_supervisor", "discriminator"}
    owned = {name: {id(p) for p in spec.parameters} for name, spec in objective.specs.items()}
    assert owned["embedder_recovery"] == {id(p) for p in (*g.embedder.parameters(), *g.recovery.parameters())}
    assert owned["generator_supervisor"] == {
        id(p) for p in (*g.generator.parameters(), *g.supervisor.parameters())
    }
    assert owned["discriminator"] == {id(p) for p in d.parameters()}
    lrs = {name: opt.param_groups[0]["lr"] for name, opt in objective.optimizers.items()}
    assert lrs == {"embedder_recovery": 1e-3, "generator_supervisor": 1e-3, "discriminator": 1e-3}


def test_timegan_refuses_the_gan_options_it_ignores_and_convgan_takes_them() -> None:
    for key, value in {"gan.loss": "hinge", "gan.r1_gamma": 1.0, "gan.precision": "bf16"}.items():
        with pytest.raises(ConfigError, match=f"{key} = .*'timegan' objective"):
            load_job_dict(apply_overrides(tiny_series(), {key: value}))
        assert load_job_dict(apply_overrides(tiny_series("convgan"), {key: value})).gan
    assert load_job_dict(apply_overrides(tiny_series(), {"gan.grad_clip": 1.0})).gan.grad_clip == 1.0


def test_timegan_runs_its_three_phases_and_each_trains_its_networks() -> None:
    torch.manual_seed(0)
    objective, g, d, real, info = _objective(tiny_series())  # 1 embedding step, 1 supervised, joint
    assert isinstance(objective, TimeGanObjective) and isinstance(g, TimeGanGenerator)
    trained = {
        "embedding": {"embedder", "recovery"},
        "supervised": {"supervisor"},
        "joint": {"embedder", "recovery", "generator", "supervisor", "discriminator"},
    }
    parts = {
        "discriminator": d,
        **{name: getattr(g, name) for name in ("embedder", "recovery", "generator", "supervisor")},
    }
    for index, phase in enumerate(trained):
        objective.start_step(index)
        assert objective.phase() == phase
        before = {name: _params(module) for name, module in parts.items()}
        z = MODALITY.sample_latents(objective.job.model, info, 16)  # type: ignore[arg-type]
        stats = objective.discriminator_step(real, z, index)
        stats.update(objective.generator_step(z, real))
        assert all(torch.isfinite(v).all() for v in stats.values())
        assert {name for name, module in parts.items() if _changed(before[name], module)} == trained[phase]
    assert {"loss_d", "grad_norm_d", "loss_g", "loss_moments", "loss_supervised", "loss_recon"} <= set(stats)
    assert objective.state_dict() == {}  # the phase follows from the step; the loop saves optimizers


def _timegan_joint_as_written(objective: TimeGanObjective, real: torch.Tensor, z: torch.Tensor) -> None:
    """TimeGAN's joint iteration as its `timegan.py` writes it: one network call per batch, a
    fresh embedding per update, every network's gradients computed."""
    g, d, gamma = objective.g, objective.d, objective.model.gamma
    with torch.no_grad():
        h = g.embedder(real)
        e_hat = g.generator(g.noise(z))
        h_hat = g.supervisor(e_hat)
    loss_d = timegan._bce(d(h), 1.0) + timegan._bce(d(h_hat), 0.0) + gamma * timegan._bce(d(e_hat), 0.0)
    objective.update("discriminator", loss_d)
    for _ in range(timegan.G_UPDATES):
        e_hat = g.generator(g.noise(z))
        h_hat = g.supervisor(e_hat)
        with torch.no_grad():
            h = g.embedder(real)
        sup = torch.nn.functional.mse_loss(g.supervisor(h)[:, :-1], h[:, 1:])
        loss_g = (
            timegan._bce(d(h_hat), 1.0)
            + gamma * timegan._bce(d(e_hat), 1.0)
            + 100 * torch.sqrt(sup)
            + objective.model.moment_weight * timegan.moment_loss(g.recovery(h_hat), real)
        )
        objective.update("generator_supervisor", loss_g)
        h = g.embedder(real)
        sup_e = torch.nn.functional.mse_loss(g.supervisor(h)[:, :-1], h[:, 1:])
        objective.update(
            "embedder_recovery",
            10 * torch.sqrt(torch.nn.functional.mse_loss(g.recovery(h), real)) + 0.1 * sup_e,
        )
        z = torch.rand_like(z)


def test_timegan_joint_step_updates_every_network_as_timegan_writes_it() -> None:
    # The step batches the GRU calls that share a network and skips unused weight gradients:
    # that must change nothing but float rounding.
    sides = []
    for _ in range(2):
        torch.manual_seed(0)
        sides.append(_objective(tiny_series()))
    (ours, g_ours, d_ours, real, info), (written, g_written, d_written, _, _) = sides
    for objective in (ours, written):
        objective.start_step(2)  # joint
        assert objective.phase() == "joint"
        # Plain SGD in place of the configured Adams: Adam's first step is lr x sign(gradient), so
        # rounding noise in a near-zero gradient element flips a whole lr-sized step (it did on one
        # CPU); SGD keeps the comparison about the arithmetic.
        objective.optimizers = {
            name: torch.optim.SGD(objective.specs[name].parameters, lr=0.01) for name in objective.optimizers
        }
    z = MODALITY.sample_latents(ours.job.model, info, 16)  # type: ignore[arg-type]
    before = _params(g_ours)
    torch.manual_seed(1)
    stats = ours.discriminator_step(real, z, 0)
    assert "grad_norm_d" in stats  # D was updated on both sides
    ours.generator_step(z, real)
    torch.manual_seed(1)
    _timegan_joint_as_written(written, real, z)  # type: ignore[arg-type]
    for mine, theirs in ((g_ours, g_written), (d_ours, d_written)):
        for (name, a), b in zip(mine.named_parameters(), theirs.parameters(), strict=True):
            assert torch.allclose(a, b, atol=1e-6), name
    assert _changed(before, g_ours)


def test_timegan_skips_the_d_update_while_the_workers_mean_loss_is_at_most_the_floor(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    objective, _, d, real, info = _objective(tiny_series())
    objective.start_step(2)  # joint
    seen: list[float] = []

    def low(value: torch.Tensor) -> float:
        seen.append(float(value))
        return timegan.D_LOSS_FLOOR

    monkeypatch.setattr(timegan, "worker_mean", low)
    before = _params(d)
    z = MODALITY.sample_latents(objective.job.model, info, 16)  # type: ignore[arg-type]
    stats = objective.discriminator_step(real, z, 0)
    assert seen == [pytest.approx(stats["loss_d"].item())]
    assert "grad_norm_d" not in stats and not _changed(before, d)


def _job(steps: int):  # noqa: ANN202
    raw = apply_overrides(
        tiny_series(),
        {
            "train.steps": steps,
            "train.log_every": 1,
            "train.checkpoint_every": 10,
            "train.sample_every": 0,
            "tracking.enabled": False,
            "model.embedding_steps": 2,
            "model.supervised_steps": 1,  # joint from the 4th step: the resume lands mid-joint
            "gan.ema.rampup": 0.5,
        },
    )
    return load_job_dict(raw)


def _run(job, root: Path, resume_from: Path | None = None) -> tuple[dict[int, dict[str, float]], dict]:  # noqa: ANN001
    seen: dict[int, dict[str, float]] = {}

    def record(step: int, metrics: dict[str, float]) -> None:
        seen[step] = {k: v for k, v in metrics.items() if k != "step_time"}

    final, _ = run_local(job, root, on_progress=record, resume_from=resume_from)
    return seen, final


def test_timegan_resume_reproduces_losses_and_scores_exactly(tmp_path: Path) -> None:
    full, full_final = _run(_job(6), tmp_path / "full")
    _run(_job(4), tmp_path / "first")  # an interrupted run: stops at step 4
    resumed, resumed_final = _run(_job(6), tmp_path / "second", tmp_path / "first/checkpoint_0000004")
    assert sorted(resumed) == [5, 6]
    assert "loss_d" in full[5] and "loss_moments" in full[6]
    for step in (5, 6):
        assert resumed[step] == full[step], f"step {step}: {resumed[step]} != {full[step]}"
    scores = {m.name for m in MODALITY.metrics}
    assert {k: v for k, v in resumed_final.items() if k in scores} == {
        k: v for k, v in full_final.items() if k in scores
    }


def test_covariance_loss_sees_features_tied_together_that_the_moment_loss_misses() -> None:
    torch.manual_seed(0)
    real = torch.rand(2048, 6, 3)  # independent features and steps
    tied = real[:, :, :1].repeat(1, 1, 3)  # every feature of a window the same series
    untied = torch.stack([tied[torch.randperm(2048), :, f] for f in range(3)], 2)  # shuffled per feature
    assert timegan.moment_loss(tied, untied) < 1e-5  # each (step, feature)'s mean and std: the same
    assert timegan.covariance_loss(tied, real) > 4 * timegan.covariance_loss(untied, real)
    assert timegan.covariance_loss(real, real) == pytest.approx(0.0, abs=1e-5)
    flat_real, flat_tied = real.flatten(1).numpy(), tied.flatten(1).numpy()
    expected = np.sqrt(((np.cov(flat_tied.T) - np.cov(flat_real.T)) ** 2).mean())
    assert timegan.covariance_loss(tied, real).item() == pytest.approx(expected, rel=1e-4)


@pytest.mark.parametrize("weight", [0.0, 100.0])
def test_the_covariance_term_joins_the_generator_loss_only_when_weighted(weight: float) -> None:
    steps = {}
    for w in (0.0, weight):
        torch.manual_seed(0)
        objective, g, _, real, info = _objective(
            apply_overrides(tiny_series(), {"model.covariance_weight": w})
        )
        objective.start_step(2)  # joint
        z = MODALITY.sample_latents(objective.job.model, info, 16)  # type: ignore[arg-type]
        stats = objective.generator_step(z, real)
        assert ("loss_covariance" in stats) == (w > 0)
        steps[w] = _params(g.generator)
    same = all(torch.equal(a, b) for a, b in zip(steps[0.0], steps[weight], strict=True))
    assert same == (weight == 0.0)


def test_the_covariance_weight_is_an_option_of_timegan_only() -> None:
    with pytest.raises(ConfigError, match="covariance_weight = 1.0 is an option of method timegan"):
        load_job_dict(apply_overrides(tiny_series("convgan"), {"model.covariance_weight": 1.0}))
