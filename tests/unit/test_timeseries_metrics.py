"""TimeGAN's post-hoc scores: seeded repetitions, their spread, and quality."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import torch

from ganforge.modalities.timeseries import MODALITY
from ganforge.modalities.timeseries.config import SeriesData, SeriesModel
from ganforge.modalities.timeseries.metrics import posthoc_scores, repeated


@pytest.fixture
def one_thread() -> Iterator[None]:
    # The post-hoc GRUs here are tiny: thread start-up costs more than it saves on a busy machine.
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


def _real_fake() -> tuple[torch.Tensor, torch.Tensor]:
    """Small series a 20-step classifier half learns to tell apart, so its accuracy varies by seed."""
    rng = torch.Generator().manual_seed(0)
    real = torch.rand(64, 8, 16, generator=rng)
    fake = 3.0 * torch.randn(64, 8, 16, generator=rng)
    return real, fake


def test_repeated_runs_seed_plus_r_and_reports_the_sample_sd() -> None:
    seeds: list[int] = []

    def score(seed: int) -> float:
        seeds.append(seed)
        return float(seed)

    mean, sd = repeated(score, seed=10, repeats=3)
    assert seeds == [10, 11, 12]
    assert (mean, sd) == pytest.approx((11.0, 1.0))  # ddof=1; the population sd would be 0.816
    assert repeated(lambda seed: 7.0, seed=0, repeats=1) == (7.0, 0.0)


@pytest.mark.usefixtures("one_thread")
def test_posthoc_sd_is_zero_for_one_repeat_and_positive_for_three() -> None:
    real, fake = _real_fake()
    once = posthoc_scores(real, fake, 20, 20, seed=0, repeats=1)
    thrice = posthoc_scores(real, fake, 20, 20, seed=0, repeats=3)
    assert once["discriminative_score_sd"] == 0.0 and once["predictive_score_sd"] == 0.0
    assert thrice["discriminative_score_sd"] > 0.0 and thrice["predictive_score_sd"] > 0.0
    # Repetition 0 is the one-repeat run (seed + 0); the two others move the mean.
    assert thrice["predictive_score"] != once["predictive_score"]


@pytest.mark.usefixtures("one_thread")
def test_posthoc_scores_are_reproducible_for_a_seed() -> None:
    real, fake = _real_fake()
    first = posthoc_scores(real, fake, 20, 20, seed=5, repeats=3)
    torch.rand(100)  # the global stream's state must not matter: every repetition seeds its own
    assert posthoc_scores(real, fake, 20, 20, seed=5, repeats=3) == first
    assert posthoc_scores(real, fake, 20, 20, seed=6, repeats=3) != first


@pytest.mark.usefixtures("one_thread")
def test_quality_is_one_minus_twice_the_discriminative_score() -> None:
    real, fake = _real_fake()
    scores = posthoc_scores(real, fake, 20, 20, seed=0, repeats=3)
    assert 0.0 < scores["discriminative_score"] <= 0.5  # a case where quality is not trivially 1
    assert scores["quality"] == pytest.approx(1.0 - 2.0 * scores["discriminative_score"])


def test_metric_specs_declare_scores_their_spread_and_quality() -> None:
    specs = {m.name: m for m in MODALITY.metric_specs(SeriesData())}
    assert set(specs) == {
        "discriminative_score",
        "discriminative_score_sd",
        "predictive_score",
        "predictive_score_sd",
        "quality",
    }
    assert specs["quality"].higher_is_better and not specs["discriminative_score"].higher_is_better


@pytest.mark.usefixtures("one_thread")
def test_evaluate_reports_every_declared_metric_and_leaves_the_global_stream_alone() -> None:
    cfg = SeriesData(seq_len=6, features=2, n_samples=64, eval_samples=32, discriminative_steps=3,
                     predictive_steps=3, posthoc_repeats=2)  # fmt: skip
    model = SeriesModel(method="convgan", hidden_dim=4, num_layers=2, noise_dim=2)
    data = MODALITY.prepare(cfg)
    g = MODALITY.build_generator(model, data).eval()
    state = torch.get_rng_state()
    metrics = MODALITY.evaluate(g, data, model, cfg, seed=0)
    assert torch.equal(torch.get_rng_state(), state)
    assert set(metrics) == {m.name for m in MODALITY.metric_specs(cfg)}
    assert metrics == MODALITY.evaluate(g, data, model, cfg, seed=0)
