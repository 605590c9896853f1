"""Mode-coverage metrics of VEEGAN / PacGAN for 2-D mixtures."""

from __future__ import annotations

import numpy as np

from ganforge.platform.modality import MetricSpec

METRICS = (
    MetricSpec("modes", True, "mixture components nearest to at least one high-quality sample"),
    MetricSpec("high_quality", True, "% of samples within 3 sigma of their nearest mode"),
    MetricSpec("reverse_kl", False, "KL(generated || real) of the nearest-mode histogram"),
    MetricSpec(
        "quality",
        True,
        "the one-number ranking score: share of modes captured x share of high-quality samples (0..1)",
    ),
)


def mode_metrics(samples: np.ndarray, centres: np.ndarray, sigma: float) -> dict[str, float]:
    """Modes captured, % high quality and reverse KL for `samples` of a mixture with `centres`.

    The real mixture has equal weights, so the reverse KL is against the uniform histogram.
    """
    distances = np.linalg.norm(samples[:, None, :] - centres[None, :, :], axis=2)
    nearest = distances.argmin(axis=1)
    high_quality = distances[np.arange(len(samples)), nearest] <= 3 * sigma
    captured = np.unique(nearest[high_quality])
    generated = np.bincount(nearest, minlength=len(centres)) / len(samples)
    uniform = 1.0 / len(centres)
    present = generated > 0
    reverse_kl = float(np.sum(generated[present] * np.log(generated[present] / uniform)))
    # Quality weighs coverage and precision together: ranking by modes alone cut trials that
    # already put most samples on modes but had not yet spread (benchmarks/RESULTS.md, ASHA).
    quality = len(captured) / len(centres) * float(high_quality.mean())
    return {
        "modes": float(len(captured)),
        "high_quality": float(100.0 * high_quality.mean()),
        "reverse_kl": reverse_kl,
        "quality": quality,
    }
