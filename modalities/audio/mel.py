"""Mel power spectrograms in plain PyTorch: the metric classifier's front end and the logged images.

torchaudio's last release on PyPI (2.11) is built against torch 2.11 only, and the torch this
project pins (the CPU build the machines carry) is newer, so the two transforms ganforge used
from it live here. `MelSpectrogram` computes what `torchaudio.transforms.MelSpectrogram` computes
with its defaults (periodic Hann window as long as the FFT, centred reflect-padded frames, power
2, HTK mel scale, triangular filters without area normalisation, 0 Hz to Nyquist), so the metric
classifier's front end did not change with it; tests/unit/test_audio_mel.py holds values that
torchaudio 2.11 computed and checks them. (The resampler moved too, to SciPy in data.py; that
changed the built-in clips slightly, hence metric model v4.)
"""

from __future__ import annotations

import math

import torch
from torch import nn


def hz_to_mel(hz: float) -> float:
    """The HTK mel scale."""
    return 2595.0 * math.log10(1.0 + hz / 700.0)


def mel_to_hz(mel: torch.Tensor) -> torch.Tensor:
    return 700.0 * (10.0 ** (mel / 2595.0) - 1.0)


def mel_filterbank(n_freqs: int, n_mels: int, sample_rate: int) -> torch.Tensor:
    """(n_freqs, n_mels) triangular filters, evenly spaced in mel from 0 Hz to Nyquist, peak 1."""
    bin_hz = torch.linspace(0, sample_rate // 2, n_freqs)
    edges_hz = mel_to_hz(torch.linspace(0.0, hz_to_mel(sample_rate // 2), n_mels + 2))
    widths = edges_hz[1:] - edges_hz[:-1]
    offsets = edges_hz.unsqueeze(0) - bin_hz.unsqueeze(1)  # (n_freqs, n_mels + 2)
    rising = -offsets[:, :-2] / widths[:-1]
    falling = offsets[:, 2:] / widths[1:]
    return torch.clamp(torch.minimum(rising, falling), min=0.0)


class MelSpectrogram(nn.Module):
    """Waveforms (..., T) -> mel power spectrograms (..., n_mels, frames)."""

    def __init__(self, sample_rate: int, n_fft: int, hop_length: int, n_mels: int) -> None:
        super().__init__()
        self.n_fft = n_fft
        self.hop_length = hop_length
        self.register_buffer("window", torch.hann_window(n_fft))
        self.register_buffer("filters", mel_filterbank(n_fft // 2 + 1, n_mels, sample_rate))

    def forward(self, wave: torch.Tensor) -> torch.Tensor:
        lead = wave.shape[:-1]
        spec = torch.stft(
            wave.reshape(-1, wave.shape[-1]),
            self.n_fft,
            hop_length=self.hop_length,
            window=self.window,
            center=True,
            pad_mode="reflect",
            return_complex=True,
        )
        power = spec.abs().pow(2)  # (N, freqs, frames)
        mel = torch.matmul(power.transpose(-1, -2), self.filters).transpose(-1, -2)
        return mel.reshape(*lead, *mel.shape[-2:])
