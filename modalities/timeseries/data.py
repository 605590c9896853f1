"""Continuous series: the TimeGAN sines recipe, a seasonal multi-channel set and user CSV / NPY
files cut into windows.

Every feature is min-max scaled to [0, 1] (TimeGAN's MinMaxScaler); the minimum and maximum go
into the prepared data's `info`, so generated windows decode to the original units. Bad files
fail here, before training, with a DataError naming the file, line and column.
"""

from __future__ import annotations

import csv
import math
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from torch.utils.data import TensorDataset

from ganforge.modalities.timeseries.config import SeriesData
from ganforge.platform.errors import DataError
from ganforge.platform.modality import Prepared, fingerprint_dataset

DAY, WEEK = 24, 168  # seasonal: periods of its cycles in (hourly) steps
REGIME_STAY = 72  # seasonal: mean steps in one regime (three days)
NOISE_AR = 0.8  # seasonal: lag-1 autocorrelation of the noise
NOISE_CROSS = 0.5  # seasonal: correlation of the noise's innovations between channels


@dataclass(frozen=True)
class SeriesSet:
    """Scaled training and held-out windows (n, T, D) and the scaling that undoes it."""

    train: torch.Tensor
    heldout: torch.Tensor
    minimum: tuple[float, ...]
    maximum: tuple[float, ...]
    columns: tuple[str, ...]


@dataclass(frozen=True)
class SeriesPrepared(Prepared):
    """A job's series: the training windows as the dataset, and the whole `SeriesSet` (held-out
    windows and scaling) for the builders, the writer and the metrics."""

    series: SeriesSet


def prepare_series(cfg: SeriesData) -> SeriesPrepared:
    """Loads the windows of `cfg` once; `info` is what decoding generated windows needs."""
    series = load_series(cfg)
    dataset = TensorDataset(series.train)
    info = {
        "seq_len": cfg.seq_len,
        "columns": list(series.columns),
        "min": list(series.minimum),
        "max": list(series.maximum),
    }
    return SeriesPrepared(dataset, info, fingerprint_dataset(dataset), series)


def load_series(cfg: SeriesData) -> SeriesSet:
    """Cuts, scales and splits the windows of `cfg` (sines, seasonal: drawn; csv / npy: read and
    checked)."""
    if cfg.dataset == "sines":
        windows = sines(cfg.n_samples + math.ceil(cfg.n_samples * cfg.heldout_fraction), cfg)
        columns = tuple(f"x{i}" for i in range(cfg.features))
    elif cfg.dataset == "seasonal":
        windows = seasonal(cfg)
        columns = tuple(f"channel{i}" for i in range(cfg.features))
    else:
        table, columns = _read_table(cfg)
        windows = _windows(table, cfg)
    low, high = windows.min(axis=(0, 1)), windows.max(axis=(0, 1))
    scaled = (windows - low) / np.maximum(high - low, 1e-7)
    data = torch.as_tensor(scaled, dtype=torch.float32)
    if cfg.dataset in ("sines", "seasonal"):  # the windows after the first n_samples are held out
        train, heldout = data[: cfg.n_samples], data[cfg.n_samples :]
    else:
        order = torch.randperm(len(data), generator=torch.Generator().manual_seed(cfg.seed))
        n_heldout = min(max(1, round(len(data) * cfg.heldout_fraction)), len(data) - 1)
        train, heldout = data[order[n_heldout:]], data[order[:n_heldout]]
    return SeriesSet(train, heldout, tuple(low.tolist()), tuple(high.tolist()), columns)


def sines(n: int, cfg: SeriesData) -> np.ndarray:
    """TimeGAN's `sine_data_generation`: per feature sin(f t + phase), f and phase ~ U[0, 0.1]."""
    rng = np.random.default_rng(cfg.seed)
    freq = rng.uniform(0, 0.1, size=(n, 1, cfg.features))
    phase = rng.uniform(0, 0.1, size=(n, 1, cfg.features))
    t = np.arange(cfg.seq_len, dtype=np.float64)[None, :, None]
    return (np.sin(freq * t + phase) + 1) * 0.5  # TimeGAN maps to [0, 1] before its scaler


def seasonal(cfg: SeriesData) -> np.ndarray:
    """`n_samples` training windows, then the held-out ones, of one hourly series (time, features).

    Per channel c: level_c + trend_c t / length + gain[s_t] (a_c sin(2 pi t / 24 + p_c) + b_c
    sin(2 pi t / 168 + q_c)) + shift[s_t] k_c + noise e_t,c. The regime s_t follows a sticky Markov
    chain (three days on average, then a uniformly drawn other regime) that moves the level and
    scales the cycles; e is AR(1) in time (lag-1 correlation 0.8) with innovations correlated 0.5
    between channels. Every constant comes from `seed`. The training windows are all those of
    the first stretch of time, the held-out ones those of the last stretch: none overlap.
    """
    n_heldout = math.ceil(cfg.n_samples * cfg.heldout_fraction)
    span = cfg.seq_len - 1
    series = seasonal_series(
        cfg.n_samples + n_heldout + 2 * span, cfg.features, cfg.regimes, cfg.noise, cfg.seed
    )
    first, last = series[: cfg.n_samples + span], series[cfg.n_samples + span :]
    return np.concatenate([_all_windows(first, cfg.seq_len), _all_windows(last, cfg.seq_len)])


def seasonal_series(length: int, channels: int, regimes: int, noise: float, seed: int) -> np.ndarray:
    """The seasonal set's series (length, channels); see `seasonal`."""
    rng = np.random.default_rng(seed)
    t = np.arange(length, dtype=np.float64)[:, None]
    level, trend = rng.uniform(-1, 1, channels), rng.normal(0, 1, channels)
    angle = 2 * np.pi * t
    day = rng.uniform(0.5, 1.5, channels) * np.sin(angle / DAY + rng.uniform(0, 2 * np.pi, channels))
    week = rng.uniform(0.2, 0.8, channels) * np.sin(angle / WEEK + rng.uniform(0, 2 * np.pi, channels))
    gain = rng.uniform(0.5, 1.5, regimes)
    shift = np.linspace(-1.0, 1.0, regimes) if regimes > 1 else np.zeros(1)
    sensitivity = rng.uniform(0.3, 1.0, channels)
    states = _markov_chain(length, regimes, rng)
    cross = NOISE_CROSS * np.ones((channels, channels)) + (1 - NOISE_CROSS) * np.eye(channels)
    innovations = rng.standard_normal((length, channels)) @ np.linalg.cholesky(cross).T
    e = np.empty_like(innovations)
    e[0] = innovations[0]
    scale = math.sqrt(1 - NOISE_AR**2)  # unit variance at every step
    for i in range(1, length):
        e[i] = NOISE_AR * e[i - 1] + scale * innovations[i]
    cycles = gain[states, None] * (day + week)
    return level + trend * t / length + cycles + shift[states, None] * sensitivity + noise * e


def _markov_chain(length: int, regimes: int, rng: np.random.Generator) -> np.ndarray:
    """Regime per step: stay with probability 1 - 1 / REGIME_STAY, else move to another one."""
    states = np.zeros(length, dtype=np.int64)
    state = int(rng.integers(regimes))
    leave = rng.random(length) < 1 / REGIME_STAY
    to = rng.integers(1, max(regimes, 2), length)  # an offset to a different regime
    for i in range(length):
        if leave[i] and regimes > 1:
            state = (state + int(to[i])) % regimes
        states[i] = state
    return states


def _all_windows(table: np.ndarray, seq_len: int) -> np.ndarray:
    """Every window of `seq_len` consecutive steps of `table` (time, features), one step apart."""
    return np.lib.stride_tricks.sliding_window_view(table, seq_len, axis=0).transpose(0, 2, 1).copy()


def _read_table(cfg: SeriesData) -> tuple[np.ndarray, tuple[str, ...]]:
    path = cfg.path
    assert path is not None  # the config validator guarantees it
    if cfg.dataset == "npy":
        return _read_npy(path)
    try:
        with path.open(newline="", encoding="utf-8") as handle:
            rows = [(i + 1, row) for i, row in enumerate(csv.reader(handle)) if any(c.strip() for c in row)]
    except (OSError, UnicodeDecodeError, csv.Error) as error:
        raise DataError(f"{path}: cannot read CSV ({error})") from None
    if not rows:
        raise DataError(f"{path}: empty file (no rows)")
    header: list[str] | None = None
    if cfg.csv_header:
        header = [cell.strip() for cell in rows[0][1]]
        rows = rows[1:]
        if not rows:
            raise DataError(f"{path}: no data rows below the header")
    width = len(header) if header else len(rows[0][1])
    values = np.empty((len(rows), width))
    for r, (line, row) in enumerate(rows):
        if len(row) != width:
            raise DataError(f"{path}: line {line}: {len(row)} columns, expected {width}")
        for c, cell in enumerate(row):
            name = f"column {c + 1}" + (f" ({header[c]!r})" if header else "")
            try:
                value = float(cell)
            except ValueError:
                raise DataError(f"{path}: line {line}, {name}: {cell.strip()!r} is not a number") from None
            if not math.isfinite(value):
                raise DataError(f"{path}: line {line}, {name}: {cell.strip()!r} is NaN or infinite")
            values[r, c] = value
    return values, tuple(header or (f"x{i}" for i in range(width)))


def _read_npy(path: Path) -> tuple[np.ndarray, tuple[str, ...]]:
    try:
        array = np.load(path, allow_pickle=False)
    except (OSError, ValueError) as error:
        raise DataError(f"{path}: cannot read array ({error})") from None
    if array.ndim == 1:
        array = array[:, None]
    if array.ndim != 2 or array.size == 0 or not np.issubdtype(array.dtype, np.number):
        raise DataError(f"{path}: expected a non-empty numeric (time, features) array, got {array.shape}")
    if not np.isfinite(array).all():
        row, column = np.argwhere(~np.isfinite(array))[0]
        raise DataError(f"{path}: row {row + 1}, column {column + 1} holds a NaN or infinite value")
    return array.astype(np.float64), tuple(f"x{i}" for i in range(array.shape[1]))


def _windows(table: np.ndarray, cfg: SeriesData) -> np.ndarray:
    """Every window of length seq_len, `stride` apart (TimeGAN cuts all overlapping windows)."""
    if len(table) < cfg.seq_len:
        raise DataError(
            f"{cfg.path}: {len(table)} time steps, fewer than the window data.seq_len = {cfg.seq_len}"
        )
    starts = range(0, len(table) - cfg.seq_len + 1, cfg.stride)
    windows = np.stack([table[s : s + cfg.seq_len] for s in starts])
    if len(windows) < 2:
        raise DataError(
            f"{cfg.path}: only {len(windows)} window; at least 2 are needed (training and held-out)"
        )
    return windows


def unscale(x: np.ndarray, info: dict) -> np.ndarray:
    """Generated windows in the original units (the inverse of the min-max scaling)."""
    low, high = np.asarray(info["min"]), np.asarray(info["max"])
    return x * np.maximum(high - low, 1e-7) + low
