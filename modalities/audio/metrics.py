"""Classifier inception score and FID for audio (WaveGAN paper, section 5; DiffWave Table 2)."""

from __future__ import annotations

import warnings

import numpy as np
import scipy.linalg
import torch

from ganforge.modalities.audio.classifier import cached_classifier, predict, split
from ganforge.modalities.audio.data import AudioClips
from ganforge.platform.modality import MetricSpec

METRICS = (
    MetricSpec(
        "inception_score", True, "exp E[KL(p(y|x) || p(y))] of generated audio, classifier on real data"
    ),
    MetricSpec("inception_score_real", True, "the same score of held-out real audio: the ceiling"),
    MetricSpec("is_ratio", True, "inception_score / inception_score_real: the headline (WaveGAN SC09: 0.53)"),
    MetricSpec("fid", False, "Frechet distance of generated and real clips in the classifier's embedding"),
    MetricSpec("classifier_accuracy", True, "held-out accuracy of the classifier the metrics use"),
)


def inception_score(probs: torch.Tensor) -> float:
    """exp(mean KL(p(y|x) || p(y))) over all rows (one split: small sets bias split means low)."""
    p = probs.double().clamp_min(1e-12)
    marginal = p.mean(0, keepdim=True)
    return float(torch.exp((p * (p.log() - marginal.log())).sum(1).mean()))


def frechet_distance(a: np.ndarray, b: np.ndarray) -> float:
    """FID between two sets of feature rows (Heusel et al. 2017)."""
    mu_a, mu_b = a.mean(0), b.mean(0)
    cov_a, cov_b = np.cov(a, rowvar=False), np.cov(b, rowvar=False)
    # Regularised as pytorch-fid does when the product is near-singular (few samples, dead units).
    eps = np.eye(len(cov_a)) * 1e-6
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", scipy.linalg.LinAlgWarning)
        root = scipy.linalg.sqrtm((cov_a + eps) @ (cov_b + eps))
    root = np.real(root)
    return float(((mu_a - mu_b) ** 2).sum() + np.trace(cov_a) + np.trace(cov_b) - 2 * np.trace(root))


def audio_metrics(fakes: torch.Tensor, real: AudioClips, sample_rate: int, seed: int) -> dict[str, float]:
    """All declared metrics for generated clips `fakes` (N, 1, T) against the labelled real set."""
    n_classes = len(real.class_names)
    classifier, accuracy = cached_classifier(real.x, real.labels, sample_rate, n_classes, seed)
    _, test_idx = split(len(real.x), seed)
    real_probs, _ = predict(classifier, real.x[test_idx])
    fake_probs, fake_feats = predict(classifier, fakes)
    # FID against (up to) as many real clips as there are generated ones.
    pick = torch.randperm(len(real.x), generator=torch.Generator().manual_seed(seed))[: len(fakes)]
    _, real_feats = predict(classifier, real.x[pick])
    score, ceiling = inception_score(fake_probs), inception_score(real_probs)
    return {
        "inception_score": score,
        "inception_score_real": ceiling,
        "is_ratio": score / ceiling,
        "fid": frechet_distance(fake_feats.double().numpy(), real_feats.double().numpy()),
        "classifier_accuracy": accuracy,
    }
