"""Audio files -> fixed-length mono windows: read, mix down, resample, trim, cut or pad."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from math import gcd
from pathlib import Path

import numpy as np
import soundfile
import torch
from scipy.signal import resample_poly
from torch.utils.data import TensorDataset

from ganforge.modalities.audio.config import AudioData
from ganforge.modalities.audio.spoken_digits import DIGITS, cached_set
from ganforge.platform.errors import DataError

AUDIO_SUFFIXES = {".wav", ".flac", ".ogg"}
PEAK = 0.95
log = logging.getLogger(__name__)


class AudioClips(TensorDataset):
    """Windows of shape (N, 1, window) in [-1, 1], with labels (-1: unlabelled) and class names.

    A labelled set yields `(x, y)` pairs (the conditional batch convention; an unconditional
    discriminator ignores `y`), an unlabelled one plain `x`. The classifier metrics read the
    labels from here.
    """

    def __init__(self, x: torch.Tensor, labels: torch.Tensor, class_names: list[str]) -> None:
        super().__init__(*((x, labels) if class_names else (x,)))
        self.x = x
        self.labels = labels
        self.class_names = class_names
        self.skipped = 0


@dataclass(frozen=True)
class _Source:
    path: Path
    label: int


def _sources(root: Path) -> tuple[list[_Source], list[str]]:
    """Audio files under `root`, labelled by their top-level sub-folder when every file has one."""
    files = sorted(p for p in root.rglob("*") if p.suffix.lower() in AUDIO_SUFFIXES and p.is_file())
    nested = files and all(len(p.relative_to(root).parts) > 1 for p in files)
    if not nested:
        return [_Source(p, -1) for p in files], []
    names = sorted({p.relative_to(root).parts[0] for p in files})
    if root.joinpath("manifest.json").is_file() and set(names) == set(DIGITS):
        names = list(DIGITS)  # the built-in set keeps zero..nine in numeric order
    index = {name: i for i, name in enumerate(names)}
    return [_Source(p, index[p.relative_to(root).parts[0]]) for p in files], names


def trim(wave: np.ndarray, top_db: float) -> np.ndarray:
    """Drops leading and trailing samples quieter than `top_db` below the file's peak."""
    peak = float(np.abs(wave).max()) if wave.size else 0.0
    if peak == 0.0:
        return wave[:0]
    loud = np.flatnonzero(np.abs(wave) >= peak * 10 ** (-top_db / 20))
    return wave[loud[0] : loud[-1] + 1]


def read_mono(path: Path, sample_rate: int) -> np.ndarray:
    """One file as float32 mono at `sample_rate`; raises what soundfile raises on a bad file."""
    wave, rate = soundfile.read(str(path), dtype="float32", always_2d=True)
    wave = wave.mean(axis=1)  # mix down: every channel weighs the same
    if rate != sample_rate:
        # Polyphase FIR with a Kaiser-windowed low-pass at the lower rate's Nyquist: SciPy's
        # standard band-limited resampler (torchaudio's, used before, has no build for our torch).
        step = gcd(rate, sample_rate)
        wave = resample_poly(wave, sample_rate // step, rate // step).astype(np.float32)
    return wave


def _windows(wave: np.ndarray, cfg: AudioData) -> list[np.ndarray]:
    window = cfg.window
    if cfg.slicing == "first" or len(wave) <= window:
        return [np.pad(wave[:window], (0, max(0, window - len(wave))))]
    starts = range(0, len(wave) - window // 2, window)  # a last window at least half full is kept
    return [np.pad(wave[s : s + window], (0, max(0, s + window - len(wave)))) for s in starts]


def class_names(cfg: AudioData) -> list[str]:
    """The classes of the data without reading any audio ([] for an unlabelled folder)."""
    if cfg.dataset == "spoken_digits":
        return list(DIGITS)
    assert cfg.path is not None  # the config validator guarantees it
    return _sources(cfg.path)[1]


def load_clips(cfg: AudioData) -> AudioClips:
    """The real set as windows; unreadable files are skipped and counted, none readable is an error."""
    if cfg.dataset == "spoken_digits":
        root = cached_set(cfg.per_digit, cfg.seed, cfg.speed_range)
    else:
        assert cfg.path is not None  # the config validator guarantees it
        root = cfg.path
    sources, names = _sources(root)
    if not sources:
        raise DataError(f"{root}: no audio files ({', '.join(sorted(AUDIO_SUFFIXES))}) found")
    clips: list[np.ndarray] = []
    labels: list[int] = []
    skipped = 0
    for source in sources:
        try:
            wave = read_mono(source.path, cfg.sample_rate)
        except (RuntimeError, ValueError, OSError, soundfile.LibsndfileError):
            skipped += 1
            continue
        if cfg.trim_silence:
            wave = trim(wave, cfg.trim_db)
        if wave.size == 0 or not np.isfinite(wave).all():
            skipped += 1
            continue
        for piece in _windows(wave, cfg):
            peak = float(np.abs(piece).max())
            if peak == 0.0:
                continue
            clips.append(piece * (PEAK / peak) if cfg.normalize else np.clip(piece, -1.0, 1.0))
            labels.append(source.label)
    if not clips:
        raise DataError(f"{root}: none of {len(sources)} audio files could be read ({skipped} unreadable)")
    if skipped:
        log.warning("%s: skipped %d of %d audio files that could not be read", root, skipped, len(sources))
    x = torch.from_numpy(np.stack(clips).astype(np.float32)).unsqueeze(1)
    dataset = AudioClips(x, torch.tensor(labels, dtype=torch.long), names)
    dataset.skipped = skipped
    return dataset
