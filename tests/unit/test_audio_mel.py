"""The mel front end (modalities/audio/mel.py) computes what torchaudio's MelSpectrogram did.

The reference arrays in data/torchaudio_2.11_mel.npz were computed by
`torchaudio.transforms.MelSpectrogram(rate, n_fft=..., hop_length=..., n_mels=...)` of torchaudio
2.11.0 (its pure-Python transform, run on this project's torch) on the signal `_signal` builds;
torchaudio itself is no longer installed (it has no build for the pinned torch), so the arrays
are the only link to it. The metric classifier's scores keep their meaning only if these match.
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest
import torch

from ganforge.modalities.audio.mel import MelSpectrogram, mel_filterbank

REFERENCE = Path(__file__).parent / "data" / "torchaudio_2.11_mel.npz"


def _signal(n: int, rate: int) -> torch.Tensor:
    """A chirp from 100 Hz to Nyquist under a rising envelope, over two steady tones."""
    t = torch.arange(n, dtype=torch.float64) / rate
    chirp = torch.sin(2 * math.pi * (100 * t + 0.5 * (rate / 2 - 100) / t[-1] * t**2))
    tones = 0.5 * torch.sin(2 * math.pi * 440 * t) + 0.25 * torch.sin(2 * math.pi * 1234.5 * t)
    return (torch.linspace(0, 1, n, dtype=torch.float64) * chirp + tones).float().reshape(1, 1, n)


@pytest.mark.parametrize(("rate", "n_fft", "hop", "n_mels"), [(8000, 256, 64, 40), (16000, 512, 128, 64)])
def test_matches_torchaudio(rate: int, n_fft: int, hop: int, n_mels: int) -> None:
    expected = np.load(REFERENCE)[f"mel_{rate}"]
    got = MelSpectrogram(rate, n_fft, hop, n_mels)(_signal(2048, rate)).numpy()
    assert got.shape == expected.shape
    np.testing.assert_allclose(got, expected, rtol=1e-5, atol=1e-4)


def test_filters_are_unit_triangles_that_tile_the_band() -> None:
    filters = mel_filterbank(129, 40, 8000)
    assert filters.shape == (129, 40)
    assert float(filters.min()) == 0.0 and float(filters.max()) <= 1.0
    peaks = filters.argmax(dim=0)
    assert bool((peaks[1:] >= peaks[:-1]).all())  # centres rise with the band index
    assert float(filters[:, 0].sum()) > 0 and float(filters[:, -1].sum()) > 0  # no empty band


def test_keeps_leading_shape_and_one_frame_per_hop() -> None:
    mel = MelSpectrogram(8000, 256, 128, 40)
    assert mel(torch.zeros(2, 3, 1, 1024)).shape == (2, 3, 1, 40, 1024 // 128 + 1)
