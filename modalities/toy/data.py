"""The built-in mixtures and user point files."""

from __future__ import annotations

import math

import numpy as np
import torch
from torch.utils.data import TensorDataset

from ganforge.modalities.toy.config import ToyData
from ganforge.platform.errors import DataError

RING8_SIGMA = 0.01
GRID25_SIGMA = 0.05


def mode_centres(cfg: ToyData) -> np.ndarray:
    """(K, 2) centres of the mixture components."""
    if cfg.dataset == "ring8":
        angles = np.arange(8) * 2 * math.pi / 8
        return np.stack([np.cos(angles), np.sin(angles)], axis=1)
    if cfg.dataset == "grid25":
        axis = np.array([-4.0, -2.0, 0.0, 2.0, 4.0])
        return np.array([(x, y) for x in axis for y in axis])
    return np.asarray(cfg.modes or [], dtype=np.float64).reshape(-1, 2)


def mode_sigma(cfg: ToyData) -> float:
    if cfg.sigma is not None:
        return cfg.sigma
    return RING8_SIGMA if cfg.dataset == "ring8" else GRID25_SIGMA


def _read_points(cfg: ToyData) -> np.ndarray:
    path = cfg.path
    assert path is not None  # the config validator guarantees it
    try:
        if path.suffix.lower() == ".npy":
            points = np.load(path, allow_pickle=False)
        else:
            points = np.loadtxt(path, delimiter=",", ndmin=2)
    except (OSError, ValueError) as error:
        raise DataError(f"{path}: cannot read points ({error})") from None
    if points.ndim != 2 or points.shape[1] != 2 or len(points) == 0:
        raise DataError(f"{path}: expected an (N, 2) array of points, got shape {points.shape}")
    if not np.isfinite(points).all():
        row = int(np.argwhere(~np.isfinite(points))[0][0])
        raise DataError(f"{path}: row {row + 1} holds a NaN or infinite value")
    return points


def load_points(cfg: ToyData) -> TensorDataset:
    """The real set: drawn once from the mixture (seeded), or read from the user's file."""
    if cfg.dataset == "file":
        return TensorDataset(torch.as_tensor(_read_points(cfg), dtype=torch.float32))
    rng = np.random.default_rng(cfg.seed)
    centres = mode_centres(cfg)
    which = rng.integers(len(centres), size=cfg.n_samples)
    points = centres[which] + rng.normal(scale=mode_sigma(cfg), size=(cfg.n_samples, 2))
    return TensorDataset(torch.as_tensor(points, dtype=torch.float32))
