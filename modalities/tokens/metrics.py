"""Token metrics: oracle NLL (SeqGAN), NLL of held-out data under G, BLEU and self-BLEU (Texygen).

BLEU is sentence BLEU-4 with NLTK's smoothing method 1, averaged over generated sequences, as
Texygen and TextGAN-PyTorch compute it. NLTK recounts every reference's n-grams for every
hypothesis, which is quadratic; here each reference set is counted once (the clipped count
only needs the maximum count of each n-gram over the references), which gives NLTK's numbers
(a unit test checks that) in linear time.
"""

from __future__ import annotations

import math
from collections import Counter
from fractions import Fraction

import torch

from ganforge.modalities.tokens.nets import TokenGenerator
from ganforge.platform.modality import MetricSpec

ORDER = 4
ORACLE_METRIC = MetricSpec("oracle_nll", False, "per-token NLL of generated sequences under the oracle LSTM")
TOKEN_METRICS = (
    MetricSpec("heldout_nll", False, "per-token NLL of held-out real sequences under the generator"),
    MetricSpec("bleu4", True, "BLEU-4 of generated sequences against held-out real ones (quality)"),
    MetricSpec("self_bleu4", False, "BLEU-4 of each generated sequence against the others (low: diverse)"),
    MetricSpec(
        "quality",
        True,
        "the one-number ranking score exp(-heldout_nll) in [0, 1]: the per-token geometric-mean "
        "probability G gives held-out real sequences (all seq_len positions of each, pads included)",
    ),
)
EPSILON = 0.1  # NLTK SmoothingFunction().method1


Sentence = tuple[int, ...]


def _ngrams(sentence: Sentence, n: int) -> Counter:
    return Counter(sentence[i : i + n] for i in range(len(sentence) - n + 1))


class ReferenceCounts:
    """Per n-gram, the two largest counts over a reference set (two, for leave-one-out)."""

    def __init__(self, references: list[Sentence], order: int = ORDER) -> None:
        self.order = order
        self.lengths = sorted({len(r) for r in references})
        self.top: list[dict[tuple, list[int]]] = [{} for _ in range(order)]
        for reference in references:
            for n in range(1, order + 1):
                table = self.top[n - 1]
                for gram, count in _ngrams(reference, n).items():
                    best = table.setdefault(gram, [0, 0])
                    if count > best[0]:
                        best[0], best[1] = count, best[0]
                    elif count > best[1]:
                        best[1] = count

    def max_count(self, n: int, gram: tuple, own: int | None) -> int:
        """Largest count of `gram` in the references, leaving out one holding `own` of it."""
        first, second = self.top[n - 1].get(gram, (0, 0))
        return second if own is not None and own == first else first


def sentence_bleu(hypothesis: Sentence, refs: ReferenceCounts, leave_out_self: bool = False) -> float:
    """NLTK's sentence_bleu (uniform weights, smoothing method 1) against counted references."""
    if not hypothesis:
        return 0.0
    log_sum = 0.0
    for n in range(1, refs.order + 1):
        counts = _ngrams(hypothesis, n)
        total = max(1, sum(counts.values()))  # NLTK: a short hypothesis has precision 0/1 there
        clipped = sum(min(c, refs.max_count(n, g, c if leave_out_self else None)) for g, c in counts.items())
        precision = Fraction(clipped, total)
        value = float(precision) if clipped else EPSILON / total
        if n == 1 and clipped == 0:
            return 0.0  # NLTK returns 0 when no unigram matches
        log_sum += math.log(value) / refs.order
    # Brevity penalty against the closest reference length (ties: the shorter one).
    closest = min(refs.lengths, key=lambda r: (abs(r - len(hypothesis)), r))
    penalty = 1.0 if len(hypothesis) > closest else math.exp(1 - closest / len(hypothesis))
    return penalty * math.exp(log_sum)


def bleu(hypotheses: list[Sentence], references: list[Sentence]) -> float:
    refs = ReferenceCounts(references)
    return sum(sentence_bleu(h, refs) for h in hypotheses) / max(len(hypotheses), 1)


def self_bleu(samples: list[Sentence], limit: int) -> float:
    """Each of the first `limit` samples against all other samples (Texygen's self-BLEU)."""
    refs = ReferenceCounts(samples)
    return sum(sentence_bleu(s, refs, leave_out_self=True) for s in samples[:limit]) / max(
        min(limit, len(samples)), 1
    )


def trim(ids: torch.Tensor, pad_id: int | None) -> list[Sentence]:
    """Id rows as tuples, cut at the first pad (text) so padding does not count as n-grams."""
    rows = []
    for row in ids.tolist():
        if pad_id is not None and pad_id in row:
            row = row[: row.index(pad_id)]
        rows.append(tuple(row))
    return rows


@torch.no_grad()
def heldout_nll(generator: TokenGenerator, heldout: torch.Tensor, batch: int = 1000) -> float:
    """Per-token NLL (nats) of `heldout` (n, T) under teacher forcing, over all n * T positions."""
    device = next(generator.parameters()).device
    total = 0.0
    for start in range(0, len(heldout), batch):
        chunk = heldout[start : start + batch].to(device)
        total += generator.nll(chunk).item() * chunk.numel()
    return total / heldout.numel()


def quality(per_token_nll: float) -> float:
    """The per-token geometric-mean probability exp(-NLL), in [0, 1] (1: G predicts every token).

    Args:
        per_token_nll: mean negative log-likelihood per token in nats, as `heldout_nll` returns.
    """
    return math.exp(-per_token_nll)
