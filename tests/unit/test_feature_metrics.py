"""The platform's feature-space metrics (FID, KID, IS, precision/recall, quality) on known answers."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from ganforge.platform.metrics import feature_metrics, real_halves
from ganforge.platform.metrics.feature_space import (
    frechet_distance,
    inception_score,
    kernel_distance,
    precision_recall,
    relative_f1,
)


def _gauss(n: int, shift: float, seed: int, dims: int = 8) -> np.ndarray:
    return np.random.default_rng(seed).normal(size=(n, dims)) + shift


def test_frechet_and_kernel_distance_grow_with_the_shift() -> None:
    real, same, far = _gauss(500, 0, 0), _gauss(500, 0, 1), _gauss(500, 1.0, 2)
    assert frechet_distance(real, same) < 0.2
    assert frechet_distance(real, far) == pytest.approx(8.0, rel=0.2)  # ||mu||^2 = 8
    assert abs(kernel_distance(real, same, seed=0)) < 0.02 < kernel_distance(real, far, seed=0)


def test_frechet_distance_of_shifted_gaussians() -> None:
    a = _gauss(4000, 0, 0, dims=4)
    assert frechet_distance(a, a) == pytest.approx(0.0, abs=1e-3)
    assert frechet_distance(a, a + 2.0) == pytest.approx(16.0, rel=1e-3)  # |mu shift|^2 = 4 * 2^2


def test_precision_recall_of_matching_and_collapsed_sets() -> None:
    real = _gauss(400, 0, 0)
    p, r = precision_recall(real, _gauss(400, 0, 1), k=3)
    assert p > 0.8 and r > 0.8
    collapsed = np.repeat(real[:1], 400, axis=0) + 1e-3 * _gauss(400, 0, 2)  # one mode, all fakes
    p, r = precision_recall(real, collapsed, k=3)
    assert p > 0.9 and r < 0.05  # realistic but no diversity: high precision, no recall
    p, _ = precision_recall(real, _gauss(400, 10.0, 3), k=3)
    assert p == 0.0


def test_inception_score_is_the_number_of_confident_balanced_classes() -> None:
    assert inception_score(np.eye(5)[np.arange(100) % 5]) == pytest.approx(5.0, rel=1e-3)
    assert inception_score(np.full((100, 5), 0.2)) == pytest.approx(1.0)
    assert inception_score(np.eye(10)[[3] * 50]) == pytest.approx(1.0)  # mode collapse


def test_quality_is_one_at_the_floor_and_zero_without_recall() -> None:
    assert relative_f1(0.8, 0.7, 0.8, 0.7) == pytest.approx(1.0)
    assert relative_f1(0.9, 0.9, 0.8, 0.7) == pytest.approx(1.0)  # capped: not better than data
    assert relative_f1(0.8, 0.0, 0.8, 0.7) == 0.0
    assert relative_f1(0.4, 0.35, 0.8, 0.7) == pytest.approx(0.5)


class _Identity:
    """A feature extractor whose features are the samples and whose classes are their signs."""

    def embed(self, samples: torch.Tensor) -> tuple[np.ndarray, np.ndarray]:
        x = samples.double().numpy()
        positive = (x[:, 0] > 0).astype(float)
        return x, np.stack([positive, 1 - positive], axis=1)


def test_feature_metrics_separate_real_from_collapsed() -> None:
    data = torch.as_tensor(_gauss(2000, 0, 0))
    real_a, real_b = real_halves(data, 500, seed=0)
    assert len(real_a) == len(real_b) == 500
    assert not set(map(tuple, real_a.tolist())) & set(map(tuple, real_b.tolist()))  # disjoint
    good = feature_metrics(_Identity(), torch.as_tensor(_gauss(500, 0, 7)), real_a, real_b, 3, 0)
    collapsed = feature_metrics(_Identity(), real_a[:1].repeat(500, 1), real_a, real_b, 3, 0)
    assert good["fid"] < 3 * good["fid_floor"] + 0.5 and good["quality"] > 0.85
    assert collapsed["fid"] > 10 * good["fid"] and collapsed["quality"] < 0.05
    assert collapsed["is_ratio"] == pytest.approx(1 / good["inception_score_real"], rel=1e-3)
