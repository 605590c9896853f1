"""Audio artifacts: WAV files (the MLflow artifact viewer plays them) and a log-mel spectrogram grid."""

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
import torchaudio  # noqa: E402

from ganforge.modalities.audio.classifier import mel_settings  # noqa: E402

TRACKED_CLIPS = 16  # per logged batch: enough to hear variety, small enough to log often
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
    """Log-mel spectrograms of generated clips (and a row of real ones) as one PNG."""
    n_fft, n_mels = mel_settings(sample_rate)
    mel = torchaudio.transforms.MelSpectrogram(sample_rate, n_fft=n_fft, hop_length=n_fft // 4, n_mels=n_mels)
    rows = [("generated", fakes, titles)]
    if reals is not None:
        rows.append(("real", reals[: min(len(reals), 8)], [""] * len(reals)))
    columns = 8
    height = sum(math.ceil(len(w) / columns) for _, w, _ in rows)
    figure, axes = plt.subplots(height, columns, figsize=(2 * columns, 1.6 * height), squeeze=False, dpi=80)
    for ax in axes.flat:
        ax.axis("off")
    row = 0
    for kind, waves, names in rows:
        with torch.no_grad():
            images = torch.log10(mel(waves.reshape(len(waves), -1)) + 1e-6).numpy()
        for i, image in enumerate(images):
            ax = axes[row + i // columns, i % columns]
            ax.imshow(image, origin="lower", aspect="auto", vmin=-6, vmax=max(float(image.max()), -5))
            ax.set_title(f"{kind} {names[i]}".strip(), fontsize=8)
        row += math.ceil(len(waves) / columns)
    figure.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    figure.savefig(path)
    plt.close(figure)
    return path
