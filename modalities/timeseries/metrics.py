"""TimeGAN's post-hoc metrics (Yoon et al. 2019, `metrics/`): discriminative and predictive score.

Discriminative: a one-layer GRU classifier (hidden = D // 2) learns real vs generated on 80%
of both and is tested on the rest; the score is |accuracy - 0.5| (0 is best). Predictive: a GRU
(hidden = D // 2) trained on generated series to predict the last feature one step ahead from
the others; the score is its mean absolute error on real series (lower is better). Iteration
counts default to TimeGAN's (2000 and 5000, batch 128) and are set by data config.

As in the TimeGAN paper, each post-hoc model is trained several times (repetition r uses seed
`seed + r` for its initial weights, data split and batch order) and each score is reported as
the mean with its sample standard deviation. `quality = 1 - 2 * discriminative_score` is the
one-number score in [0, 1] that sweeps and `select` can rank by (higher is better).
"""

from __future__ import annotations

import statistics
from collections.abc import Callable

import torch
import torch.nn.functional as F
from torch import nn

from ganforge.platform.metrics.metric_model import deterministic_training
from ganforge.platform.modality import MetricSpec

METRICS = (
    MetricSpec(
        "discriminative_score",
        False,
        "|accuracy - 0.5| of a post-hoc GRU real/fake classifier, mean over data.posthoc_repeats seeds",
    ),
    MetricSpec(
        "discriminative_score_sd",
        False,
        "sample sd (ddof=1) of discriminative_score over the repeats (0 for one repeat)",
    ),
    MetricSpec(
        "predictive_score",
        False,
        "one-step-ahead MAE on real data of a GRU trained on generated, mean over data.posthoc_repeats seeds",
    ),
    MetricSpec(
        "predictive_score_sd",
        False,
        "sample sd (ddof=1) of predictive_score over the repeats (0 for one repeat)",
    ),
    MetricSpec(
        "quality",
        True,
        "the one-number ranking score 1 - 2 * discriminative_score in [0, 1] "
        "(1: a post-hoc classifier cannot tell generated from real; 0: it always can)",
    ),
)
BATCH = 128


class _PostHocGru(nn.Module):
    def __init__(self, inputs: int, hidden: int, outputs: int) -> None:
        super().__init__()
        self.rnn = nn.GRU(inputs, hidden, batch_first=True)
        self.head = nn.Linear(hidden, outputs)

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        out, last = self.rnn(x)
        return self.head(out), self.head(last[-1])


def _batches(n: int, steps: int, rng: torch.Generator):  # noqa: ANN202
    for _ in range(steps):
        yield torch.randint(n, (min(BATCH, n),), generator=rng)


def discriminative_score(real: torch.Tensor, fake: torch.Tensor, steps: int, seed: int) -> float:
    """One post-hoc classifier; `seed` sets its initial weights, data split and batch order."""
    rng = torch.Generator().manual_seed(seed)
    torch.manual_seed(seed)  # the classifier's initial weights
    n = min(len(real), len(fake))
    real, fake = (
        real[torch.randperm(len(real), generator=rng)[:n]],
        fake[torch.randperm(len(fake), generator=rng)[:n]],
    )
    split = int(0.8 * n)
    x_train = torch.cat([real[:split], fake[:split]])
    y_train = torch.cat([torch.ones(split), torch.zeros(split)])
    x_test = torch.cat([real[split:], fake[split:]])
    y_test = torch.cat([torch.ones(n - split), torch.zeros(n - split)])
    model = _PostHocGru(real.shape[2], max(real.shape[2] // 2, 1), 1)
    opt = torch.optim.Adam(model.parameters())
    for index in _batches(len(x_train), steps, rng):
        loss = F.binary_cross_entropy_with_logits(model(x_train[index])[1].squeeze(1), y_train[index])
        opt.zero_grad()
        loss.backward()
        opt.step()
    with torch.no_grad():
        predicted = (model(x_test)[1].squeeze(1) > 0).float()
    return abs((predicted == y_test).float().mean().item() - 0.5)


def predictive_score(real: torch.Tensor, fake: torch.Tensor, steps: int, seed: int) -> float:
    """One post-hoc predictor; `seed` sets its initial weights and batch order."""
    rng = torch.Generator().manual_seed(seed)
    torch.manual_seed(seed)
    features = real.shape[2]
    if features == 1:  # one feature: predict it from itself (TimeGAN needs D >= 2)
        inputs, target = slice(0, 1), slice(0, 1)
    else:
        inputs, target = slice(0, features - 1), slice(features - 1, features)
    model = _PostHocGru(inputs.stop - inputs.start, max(features // 2, 1), 1)
    opt = torch.optim.Adam(model.parameters())
    for index in _batches(len(fake), steps, rng):
        batch = fake[index]
        predicted = torch.sigmoid(model(batch[:, :-1, inputs])[0])
        loss = F.l1_loss(predicted, batch[:, 1:, target])
        opt.zero_grad()
        loss.backward()
        opt.step()
    with torch.no_grad():
        predicted = torch.sigmoid(model(real[:, :-1, inputs])[0])
        return F.l1_loss(predicted, real[:, 1:, target]).item()


def repeated(score: Callable[[int], float], seed: int, repeats: int) -> tuple[float, float]:
    """Runs `score(seed + r)` for r = 0 .. repeats - 1.

    Args:
        score: one seeded run of a post-hoc model, returning its score.
        seed: seed of the first repetition.
        repeats: number of repetitions (at least 1).

    Returns:
        The mean and the sample standard deviation (ddof=1; 0.0 for a single repetition).
    """
    values = []
    for r in range(repeats):
        # The platform's conditions for learned scorers: seeded, deterministic kernels, one thread
        # (another thread count sums in another order, and the score would differ by machine).
        with deterministic_training(seed + r):
            values.append(score(seed + r))
    sd = statistics.stdev(values) if len(values) > 1 else 0.0
    return statistics.fmean(values), sd


def posthoc_scores(
    real: torch.Tensor,
    fake: torch.Tensor,
    discriminative_steps: int,
    predictive_steps: int,
    seed: int,
    repeats: int,
) -> dict[str, float]:
    """TimeGAN's post-hoc scores as mean and sd over `repeats` seeds, and `quality`.

    Args:
        real: real series (n, T, D), scaled to [0, 1].
        fake: generated series (m, T, D), scaled the same way.
        discriminative_steps: training iterations of each post-hoc classifier.
        predictive_steps: training iterations of each post-hoc predictor.
        seed: seed of the first repetition; repetition r uses `seed + r`.
        repeats: post-hoc models trained per score.

    Returns:
        Every metric of METRICS by name.
    """
    disc, disc_sd = repeated(
        lambda s: discriminative_score(real, fake, discriminative_steps, s), seed, repeats
    )
    pred, pred_sd = repeated(lambda s: predictive_score(real, fake, predictive_steps, s), seed, repeats)
    return {
        "discriminative_score": disc,
        "discriminative_score_sd": disc_sd,
        "predictive_score": pred,
        "predictive_score_sd": pred_sd,
        "quality": 1.0 - 2.0 * disc,
    }
