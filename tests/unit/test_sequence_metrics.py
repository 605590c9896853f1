"""Sequence metrics: fast BLEU equals NLTK's; NLLs and TimeGAN scores respond to what they measure."""

from __future__ import annotations

import random

import pytest
import torch
from nltk.translate.bleu_score import SmoothingFunction, sentence_bleu

from ganforge.modalities.sequence.oracle import OracleLSTM
from ganforge.modalities.sequence.token_metrics import ReferenceCounts, bleu, self_bleu
from ganforge.modalities.sequence.token_metrics import sentence_bleu as fast_bleu


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
