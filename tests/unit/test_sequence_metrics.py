"""Sequence metrics: fast BLEU equals NLTK's; NLLs and TimeGAN scores respond to what they measure."""

from __future__ import annotations

import math
import random
from collections.abc import Iterator

import pytest
import torch
from nltk.translate.bleu_score import SmoothingFunction, sentence_bleu
from pydantic import ValidationError

from ganforge.modalities.sequence import metric_specs
from ganforge.modalities.sequence.config import SequenceData, SequenceModel
from ganforge.modalities.sequence.oracle import OracleLSTM
from ganforge.modalities.sequence.series_metrics import posthoc_scores, repeated
from ganforge.modalities.sequence.token_metrics import ReferenceCounts, bleu, heldout_nll, quality, self_bleu
from ganforge.modalities.sequence.token_metrics import sentence_bleu as fast_bleu
from ganforge.modalities.sequence.token_nets import TokenGenerator


def _corpus(rng: random.Random, n: int, vocab: int) -> list[tuple[int, ...]]:
    return [tuple(rng.randrange(vocab) for _ in range(rng.randint(3, 9))) for _ in range(n)]


def test_bleu_matches_nltk_sentence_bleu() -> None:
    rng = random.Random(0)
    references, hypotheses = _corpus(rng, 40, 6), _corpus(rng, 25, 6)
    smooth = SmoothingFunction().method1
    expected = [sentence_bleu(references, h, smoothing_function=smooth) for h in hypotheses]
    refs = ReferenceCounts(references)
    assert [fast_bleu(h, refs) for h in hypotheses] == pytest.approx(expected, abs=1e-9)
    assert bleu(hypotheses, references) == pytest.approx(sum(expected) / len(expected), abs=1e-9)


def test_self_bleu_leaves_each_sample_out() -> None:
    rng = random.Random(1)
    samples = _corpus(rng, 30, 5) + [(1, 2, 3, 4, 1)] * 2  # a duplicate still matches its twin
    smooth = SmoothingFunction().method1
    expected = [
        sentence_bleu(samples[:i] + samples[i + 1 :], s, smoothing_function=smooth)
        for i, s in enumerate(samples)
    ]
    assert self_bleu(samples, len(samples)) == pytest.approx(sum(expected) / len(expected), abs=1e-9)
    assert self_bleu([(1, 2, 3, 4)] * 5, 5) == pytest.approx(1.0)


def test_oracle_prefers_its_own_samples() -> None:
    oracle = OracleLSTM(vocab_size=200, embed_dim=8, hidden_dim=8, seq_len=10, seed=3)
    own = oracle.sample(500, torch.Generator().manual_seed(0))
    uniform = torch.randint(200, (500, 10), generator=torch.Generator().manual_seed(0))
    assert own.shape == (500, 10) and int(own.max()) < 200
    assert oracle.nll(own) < oracle.nll(uniform) - 1.0


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
def test_series_quality_is_one_minus_twice_the_discriminative_score() -> None:
    real, fake = _real_fake()
    scores = posthoc_scores(real, fake, 20, 20, seed=0, repeats=3)
    assert 0.0 < scores["discriminative_score"] <= 0.5  # a case where quality is not trivially 1
    assert scores["quality"] == pytest.approx(1.0 - 2.0 * scores["discriminative_score"])


def test_token_quality_is_the_geometric_mean_token_probability() -> None:
    # A generator that ignores its context and draws token k with probability p[k].
    p = torch.tensor([0.5, 0.25, 0.125, 0.125])
    generator = TokenGenerator(SequenceModel(method="mle", seq_len=6, hidden_dim=4, embed_dim=3), 4)
    with torch.no_grad():
        generator.out.weight.zero_()
        generator.out.bias.copy_(p.log())
    heldout = torch.randint(4, (10, 6), generator=torch.Generator().manual_seed(0))
    nll = heldout_nll(generator, heldout, batch=3)  # uneven chunks: the mean is over all tokens
    expected = math.exp(p[heldout].log().mean().item())  # (prod of the 60 token probabilities) ** (1/60)
    assert nll == pytest.approx(-p[heldout].log().mean().item(), rel=1e-6)
    assert quality(nll) == pytest.approx(expected, rel=1e-6)
    assert quality(0.0) == 1.0 and 0.0 < quality(50.0) < 1e-20


def test_metric_specs_list_quality_and_sd_for_their_kind() -> None:
    series = {m.name for m in metric_specs(SequenceData(dataset="sines"))}
    tokens = {m.name for m in metric_specs(SequenceData(dataset="oracle"))}
    assert {"discriminative_score_sd", "predictive_score_sd", "quality"} <= series
    assert "quality" in tokens and not {"discriminative_score_sd", "predictive_score_sd"} & tokens
    with pytest.raises(ValidationError, match="posthoc_repeats"):
        SequenceData(dataset="oracle", posthoc_repeats=5)  # a series-only option
