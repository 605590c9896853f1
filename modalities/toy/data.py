"""The built-in mixtures and user point files."""

from __future__ import annotations

import csv
import math
from pathlib import Path

import numpy as np
import torch
from torch.utils.data import TensorDataset

from ganforge.modalities.toy.config import ToyData
from ganforge.platform.errors import DataError

RING8_SIGMA = 0.01
GRID25_SIGMA = 0.05
NPY_MAGIC = b"\x93NUMPY"  # the first bytes of every .npy file


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
        points = _read_npy(path) if path.suffix.lower() == ".npy" else _read_csv(path)
    except DataError:
        raise
    except (OSError, ValueError, EOFError) as error:
        raise DataError(f"{path}: cannot read points ({error})") from None
    if points.ndim != 2 or points.shape[1] != 2 or len(points) == 0:
        raise DataError(f"{path}: expected an (N, 2) array of points, got shape {points.shape}")
    if not np.isfinite(points).all():
        row = int(np.argwhere(~np.isfinite(points))[0][0])
        raise DataError(f"{path}: row {row + 1} holds a NaN or infinite value")
    return points


def _read_npy(path: Path) -> np.ndarray:
    with path.open("rb") as handle:
        if handle.read(len(NPY_MAGIC)) != NPY_MAGIC:
            # numpy would take it for a pickle and suggest allow_pickle: not what the user needs
            raise DataError(f"{path}: not a valid .npy file")
    return np.load(path, allow_pickle=False)


def _read_csv(path: Path) -> np.ndarray:
    """Two numeric columns; errors name the file's own 1-based line (blank and # lines skipped)."""
    rows: list[list[float]] = []
    with path.open(newline="", encoding="utf-8") as handle:
        for line, row in enumerate(csv.reader(handle), start=1):
            if not any(cell.strip() for cell in row) or row[0].lstrip().startswith("#"):
                continue
            if len(row) != 2:
                raise DataError(f"{path}: line {line}: {len(row)} columns, expected 2 (x, y)")
            rows.append(
                [_number(cell, f"{path}: line {line}, column {column}") for column, cell in enumerate(row, 1)]
            )
    return np.asarray(rows, dtype=np.float64).reshape(-1, 2)


def _number(cell: str, where: str) -> float:
    try:
        value = float(cell)
    except ValueError:
        raise DataError(
            f"{where}: {cell.strip()!r} is not a number (expected two numeric columns and no header line)"
        ) from None
    if not math.isfinite(value):
        raise DataError(f"{where}: {cell.strip()!r} is NaN or infinite")
    return value


def load_points(cfg: ToyData) -> TensorDataset:
    """The real set: drawn once from the mixture (seeded), or read from the user's file."""
    if cfg.dataset == "file":
        return TensorDataset(torch.as_tensor(_read_points(cfg), dtype=torch.float32))
    rng = np.random.default_rng(cfg.seed)
    centres = mode_centres(cfg)
    which = rng.integers(len(centres), size=cfg.n_samples)
    points = centres[which] + rng.normal(scale=mode_sigma(cfg), size=(cfg.n_samples, 2))
    return TensorDataset(torch.as_tensor(points, dtype=torch.float32))
