"""Audio artifacts: WAV files (the MLflow artifact viewer plays them) and a log-mel spectrogram image."""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import matplotlib

matplotlib.use("Agg")  # files only; no display on servers and workers
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import soundfile  # noqa: E402
import torch  # noqa: E402

from ganforge.modalities.audio.classifier import mel_settings  # noqa: E402
from ganforge.modalities.audio.mel import MelSpectrogram  # noqa: E402

TRACKED_CLIPS = 16  # per logged batch: enough to hear variety, small enough to log often
SPECTROGRAM_CLIPS = 8  # of those, drawn in the step's spectrogram: fewer, larger panels read better
SPECTROGRAM_COLUMNS = 4  # a squarish image keeps its detail in MLflow's 256-pixel card thumbnail
REAL_PANELS = 4
GAP_SECONDS = 0.25


def write_wav(path: Path, wave: torch.Tensor | np.ndarray, sample_rate: int) -> Path:
    """One clip as 16-bit PCM WAV (clipped to [-1, 1])."""
    path.parent.mkdir(parents=True, exist_ok=True)
    data = np.clip(np.asarray(wave, dtype=np.float32).reshape(-1), -1.0, 1.0)
    soundfile.write(str(path), data, sample_rate, subtype="PCM_16")
    return path


def clip_name(index: int, label: int | None, info: dict[str, Any]) -> str:
    """`sample_00003.wav`, or `sample_00003_seven.wav` when the class is known."""
    names = info.get("class_names") or []
    suffix = f"_{names[label]}" if label is not None and 0 <= label < len(names) else ""
    return f"sample_{index:05d}{suffix}.wav"


def write_strip(path: Path, waves: torch.Tensor, sample_rate: int) -> Path:
    """Clips back to back with short silences: one file to listen through a whole batch."""
    gap = np.zeros(int(GAP_SECONDS * sample_rate), dtype=np.float32)
    pieces = [p for w in waves for p in (w.reshape(-1).numpy(), gap)]
    return write_wav(path, np.concatenate(pieces), sample_rate)


def write_spectrograms(
    path: Path, fakes: torch.Tensor, reals: torch.Tensor | None, sample_rate: int, titles: list[str]
) -> Path:
    """Log-mel spectrograms of generated clips (and a row of real ones) as one PNG.

    Four large panels a row (about 320 x 220 pixels each, time across, mel bands up), all on
    one colour scale, so that the image stays legible when MLflow shrinks it to its card and
    real and generated clips compare at a glance. Generated panels come first, titled by
    `titles`; at most `REAL_PANELS` real ones follow.
    """
    n_fft, n_mels = mel_settings(sample_rate)
    mel = MelSpectrogram(sample_rate, n_fft=n_fft, hop_length=n_fft // 4, n_mels=n_mels)
    groups = [("generated", fakes, titles)]
    if reals is not None:
        real = reals[:REAL_PANELS]
        groups.append(("real", real, [""] * len(real)))
    with torch.no_grad():
        images = [torch.log10(mel(w.reshape(len(w), -1).float()) + 1e-6).numpy() for _, w, _ in groups]
    top = max(float(max(i.max() for i in images)), -5.0)  # one scale: loud and quiet clips compare
    height = sum(math.ceil(len(w) / SPECTROGRAM_COLUMNS) for _, w, _ in groups)
    figure, axes = plt.subplots(
        height, SPECTROGRAM_COLUMNS, figsize=(3.2 * SPECTROGRAM_COLUMNS, 2.3 * height), squeeze=False, dpi=100
    )
    for ax in axes.flat:
        ax.axis("off")
    row = 0
    for (kind, waves, names), spectra in zip(groups, images, strict=True):
        for i, image in enumerate(spectra):
            ax = axes[row + i // SPECTROGRAM_COLUMNS, i % SPECTROGRAM_COLUMNS]
            ax.imshow(image, origin="lower", aspect="auto", vmin=top - 6, vmax=top, cmap="magma")
            ax.set_title(f"{kind} {names[i]}".strip(), fontsize=13)
        row += math.ceil(len(waves) / SPECTROGRAM_COLUMNS)
    figure.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    figure.savefig(path)
    plt.close(figure)
    return path
