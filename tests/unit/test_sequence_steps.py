"""Sequence objectives: every method updates G, keeps its state, and G samples what it models."""

from __future__ import annotations

import pytest
import torch

from ganforge.modalities.sequence import MODALITY
from ganforge.modalities.sequence.tiny import tiny_series, tiny_tokens
from ganforge.platform.config import load_job_dict
from ganforge.platform.gan import GanNets


def _step(raw: dict):  # noqa: ANN202
    job = load_job_dict(raw)
    g, d = MODALITY.build_generator(job.model, job.data), MODALITY.build_discriminator(job.model, job.data)
    opt_g, opt_d = torch.optim.Adam(g.parameters(), 1e-3), torch.optim.Adam(d.parameters(), 1e-3)
    step = MODALITY.make_step(job, GanNets(g, d, g, d), opt_g, opt_d, torch.device("cpu"))
    real = MODALITY.load_dataset(job.data).tensors[0][:16]
    return job, g, step, real


@pytest.mark.parametrize("method", ["mle", "seqgan", "gumbel"])
def test_token_methods_train_every_phase(method: str) -> None:
    torch.manual_seed(0)
    job, g, step, real = _step(tiny_tokens(method))
    seen: set[str] = set()
    for index in range(4):  # steps 0-1: MLE (D from step 1), 2-3: the adversarial method
        step.start_step(index)
        z = MODALITY.sample_latents(job.model, 16)
        before = [p.detach().clone() for p in g.parameters()]
        stats = step.discriminator_step(real, z, index)
        stats.update(step.generator_step(z, real))
        seen |= set(stats)
        assert all(torch.isfinite(v).all() for v in stats.values())
        assert any(not torch.equal(a, b) for a, b in zip(before, g.parameters(), strict=True))
    expected = {"mle": set(), "seqgan": {"reward", "loss_d"}, "gumbel": {"temperature", "loss_d"}}[method]
    assert expected <= seen
    assert "opt_mle" in step.state_dict()


def test_gumbel_temperature_rises_to_its_maximum() -> None:
    _, _, step, _ = _step(tiny_tokens("gumbel"))  # 6 steps, 2 of them MLE
    temperatures = []
    for index in range(6):
        step.start_step(index)
        temperatures.append(step.temperature())
    assert temperatures[:3] == [1.0, 1.0, 1.0]
    assert temperatures == sorted(temperatures) and temperatures[-1] == pytest.approx(10.0)


def test_timegan_runs_its_three_phases() -> None:
    torch.manual_seed(0)
    job, g, step, real = _step(tiny_series())
    phases = []
    for index in range(3):
        step.start_step(index)
        phases.append(step.phase())
        z = MODALITY.sample_latents(job.model, 16)
        stats = step.discriminator_step(real, z, index)
        stats.update(step.generator_step(z, real))
        assert all(torch.isfinite(v).all() for v in stats.values())
    assert phases == ["embedding", "supervised", "joint"]
    assert "loss_moments" in stats and "loss_d" in stats
    assert set(step.state_dict()) == {"opt_er", "opt_gs"}


def test_token_generator_samples_its_own_distribution() -> None:
    torch.manual_seed(0)
    job = load_job_dict(tiny_tokens("mle"))
    g = MODALITY.build_generator(job.model, job.data).eval()
    z = MODALITY.sample_latents(job.model, 20000, torch.Generator().manual_seed(1))
    with torch.no_grad():
        tokens = g(z)
        probs = torch.softmax(g.teacher_logits(tokens[:1])[0, 0], dim=-1)  # first position
    assert torch.equal(tokens, g(z))  # deterministic given the latents
    counts = torch.bincount(tokens[:, 0], minlength=len(probs)).float() / len(tokens)
    assert (counts - probs).abs().max() < 0.02


def test_init_generator_loads_weights(tmp_path) -> None:  # noqa: ANN001
    raw = tiny_tokens("mle")
    job = load_job_dict(raw)
    g = MODALITY.build_generator(job.model, job.data)
    torch.save(g.state_dict(), tmp_path / "g.pt")
    again = MODALITY.build_generator(
        load_job_dict({**raw, "model": {**raw["model"], "init_generator": str(tmp_path / "g.pt")}}).model,
        job.data,
    )
    assert all(
        torch.equal(a, b) for a, b in zip(g.state_dict().values(), again.state_dict().values(), strict=True)
    )
