"""The VEEGAN / PacGAN mode metrics on samples whose answer is known."""

from __future__ import annotations

import math

import numpy as np
import pytest

from ganforge.modalities.toy.config import ToyData
from ganforge.modalities.toy.data import load_points, mode_centres, mode_sigma
from ganforge.modalities.toy.metrics import mode_metrics


@pytest.mark.parametrize("dataset", ["grid25", "ring8"])
def test_real_samples_score_perfectly(dataset: str) -> None:
    cfg = ToyData(dataset=dataset, n_samples=2500)
    samples = load_points(cfg).tensors[0].numpy()
    metrics = mode_metrics(samples, mode_centres(cfg), mode_sigma(cfg))
    assert metrics["modes"] == len(mode_centres(cfg))
    assert metrics["high_quality"] > 98.0  # 3 sigma in 2-D holds 98.9%
    assert metrics["reverse_kl"] < 0.02
    assert metrics["quality"] > 0.98


def test_collapse_to_one_mode() -> None:
    cfg = ToyData(dataset="grid25")
    samples = np.zeros((2500, 2)) + np.array([2.0, -2.0])
    metrics = mode_metrics(samples, mode_centres(cfg), mode_sigma(cfg))
    assert metrics == {
        "modes": 1.0,
        "high_quality": 100.0,
        "reverse_kl": pytest.approx(math.log(25)),
        "quality": pytest.approx(1 / 25),
    }


def test_off_mode_samples_are_not_high_quality() -> None:
    cfg = ToyData(dataset="grid25")
    samples = np.full((100, 2), 1.0)  # halfway between modes
    metrics = mode_metrics(samples, mode_centres(cfg), mode_sigma(cfg))
    assert metrics["modes"] == 0.0 and metrics["high_quality"] == 0.0 and metrics["quality"] == 0.0
