"""FID, KID, Inception-style score and improved precision/recall in a modality's feature space.

Written once for every modality: a modality supplies only a `FeatureExtractor` (a classifier
trained on its real data, or a user's Inception file). Each generated-vs-real figure comes with
its real-vs-real floor (two disjoint real halves of the same size), so the floor shows what "as
good as the data" reads in this feature space at this sample count.
"""

from __future__ import annotations

import warnings
from typing import Protocol

import numpy as np
import torch
from scipy import linalg

from ganforge.platform.modality.contract import MetricSpec

Tensor = torch.Tensor


class FeatureExtractor(Protocol):
    """What the metrics need of a network: (features, class probabilities) of a batch of samples."""

    def embed(self, samples: Tensor) -> tuple[np.ndarray, np.ndarray]: ...


FEATURE_METRICS = (
    MetricSpec("fid", False, "Frechet distance of metric-model features, generated vs real"),
    MetricSpec("fid_floor", False, "FID of two disjoint real halves (what the data itself scores)"),
    MetricSpec("fid_ratio", False, "fid / fid_floor: 1 is as good as the real data"),
    MetricSpec("kid", False, "kernel inception distance (unbiased MMD^2, cubic kernel), x1000"),
    MetricSpec("kid_floor", False, "KID x1000 of two disjoint real halves"),
    MetricSpec("inception_score", True, "exp E[KL(p(y|x) || p(y))] of the metric model on samples"),
    MetricSpec("inception_score_real", True, "the same score on real data (the reachable value)"),
    MetricSpec("is_ratio", True, "inception_score / inception_score_real (WaveGAN SC09: 0.53)"),
    MetricSpec("precision", True, "share of samples inside the real k-NN manifold (Kynkaanniemi)"),
    MetricSpec("recall", True, "share of real data inside the generated k-NN manifold"),
    MetricSpec("precision_floor", True, "precision of one real half against the other"),
    MetricSpec("recall_floor", True, "recall of one real half against the other"),
    MetricSpec(
        "quality",
        True,
        "the one-number ranking score: F1 of precision and recall, each divided by its real floor "
        "(0..1; 1 is as good as the data, a collapsed generator is near 0)",
    ),
)


def frechet_distance(a: np.ndarray, b: np.ndarray) -> float:
    """||mu_a - mu_b||^2 + Tr(S_a + S_b - 2 (S_a S_b)^1/2) of two feature sets (Heusel et al. 2017)."""
    mu_a, mu_b = a.mean(0), b.mean(0)
    cov_a, cov_b = np.cov(a, rowvar=False), np.cov(b, rowvar=False)
    eps = np.eye(len(cov_a)) * 1e-6
    with warnings.catch_warnings():
        # Fewer samples than features give singular covariances; pytorch-fid nudges them too.
        warnings.simplefilter("ignore", linalg.LinAlgWarning)
        root = linalg.sqrtm((cov_a + eps) @ (cov_b + eps))
    return float(((mu_a - mu_b) ** 2).sum() + np.trace(cov_a + cov_b - 2 * root.real))


def kernel_distance(a: np.ndarray, b: np.ndarray, seed: int, subsets: int = 10, size: int = 1000) -> float:
    """Unbiased MMD^2 with k(x, y) = (x.y / d + 1)^3, averaged over random subsets (KID)."""
    rng = np.random.default_rng(seed)
    m = min(size, len(a), len(b))
    d = a.shape[1]
    total = 0.0
    for _ in range(subsets):
        x, y = a[rng.choice(len(a), m, replace=False)], b[rng.choice(len(b), m, replace=False)]
        kxx, kyy, kxy = [(p @ q.T / d + 1) ** 3 for p, q in ((x, x), (y, y), (x, y))]
        off = (kxx.sum() - np.trace(kxx) + kyy.sum() - np.trace(kyy)) / (m * (m - 1))
        total += off - 2 * kxy.mean()
    return float(total / subsets)


def inception_score(probs: np.ndarray) -> float:
    """exp(E_x KL(p(y|x) || p(y))) over one split (small sets bias split means low)."""
    marginal = probs.mean(0, keepdims=True)
    kl = (probs * (np.log(probs + 1e-12) - np.log(marginal + 1e-12))).sum(1)
    return float(np.exp(kl.mean()))


def _kth_radii(x: Tensor, k: int) -> Tensor:
    distances = torch.cdist(x, x)
    return distances.kthvalue(k + 1, dim=1).values  # k + 1: each point is its own nearest


def precision_recall(real: np.ndarray, fake: np.ndarray, k: int) -> tuple[float, float]:
    """Improved precision and recall (Kynkaanniemi et al., 2019) with k-NN balls."""
    r, f = torch.as_tensor(real, dtype=torch.float64), torch.as_tensor(fake, dtype=torch.float64)
    cross = torch.cdist(f, r)  # fakes x reals
    precision = (cross <= _kth_radii(r, k)[None, :]).any(dim=1).float().mean()
    recall = (cross <= _kth_radii(f, k)[:, None]).any(dim=0).float().mean()
    return float(precision), float(recall)


def relative_f1(precision: float, recall: float, precision_floor: float, recall_floor: float) -> float:
    """F1 of precision and recall, each first divided by what real data scores (capped at 1)."""
    p = min(precision / max(precision_floor, 1e-9), 1.0)
    r = min(recall / max(recall_floor, 1e-9), 1.0)
    return 0.0 if p + r == 0 else 2 * p * r / (p + r)


def feature_metrics(
    extractor: FeatureExtractor,
    fakes: Tensor,
    real_a: Tensor,
    real_b: Tensor,
    knn: int,
    seed: int,
) -> dict[str, float]:
    """Every FEATURE_METRICS value of `fakes` against real half A; half B against A is the floor."""
    fa, pa = extractor.embed(real_a)
    fb, _ = extractor.embed(real_b)
    ff, pf = extractor.embed(fakes)
    fid, floor = frechet_distance(ff, fa), frechet_distance(fb, fa)
    precision, recall = precision_recall(fa, ff, knn)
    precision_floor, recall_floor = precision_recall(fa, fb, knn)
    score, ceiling = inception_score(pf), inception_score(pa)
    return {
        "fid": fid,
        "fid_floor": floor,
        "fid_ratio": fid / max(floor, 1e-9),
        "kid": 1000 * kernel_distance(ff, fa, seed),
        "kid_floor": 1000 * kernel_distance(fb, fa, seed),
        "inception_score": score,
        "inception_score_real": ceiling,
        "is_ratio": score / ceiling,
        "precision": precision,
        "recall": recall,
        "precision_floor": precision_floor,
        "recall_floor": recall_floor,
        "quality": relative_f1(precision, recall, precision_floor, recall_floor),
    }


def real_halves(data: Tensor, samples: int, seed: int) -> tuple[Tensor, Tensor]:
    """Two disjoint, seeded halves of the real data, each `samples` long (or half the data)."""
    n = min(samples, len(data) // 2)
    order = torch.randperm(len(data), generator=torch.Generator().manual_seed(seed))
    return data[order[:n]], data[order[n : 2 * n]]
