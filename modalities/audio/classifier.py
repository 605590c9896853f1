"""The audio metric model: a log-mel CNN classifier trained on the real set.

No pretrained audio network can be downloaded here, so, as WaveGAN's authors did for SC09, the
metrics use a classifier trained on the real data itself. It learns with the changes a listener
ignores (gain, a slight time shift, background noise, a few percent of speed), so that real clips
under such changes score near the real floor. The platform trains it deterministically and stores
it once per data fingerprint (platform/metrics/store.py); its held-out accuracy is reported so a
weak classifier (and so a weak metric) is visible.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F  # noqa: N812
from torch import nn

from ganforge.modalities.audio.mel import MelSpectrogram
from ganforge.platform.metrics import MetricModelRecipe, TrainedMetricModel

# The metric version: bump when the network, its augmentations or its training change (4: the
# mel front end moved from torchaudio to mel.py, and the data's resampler to SciPy).
VERSION = 4
FEATURES = 128
TEST_FRACTION = 0.2
BATCH = 64
MAX_STEPS = 600


def mel_settings(sample_rate: int) -> tuple[int, int]:
    """(n_fft, n_mels): ~32 ms frames at any rate, and no more mel bands than the FFT can fill."""
    n_fft = 2 ** round(math.log2(sample_rate * 0.032))
    n_mels = 20 if sample_rate <= 4_000 else 40 if sample_rate <= 8_000 else 64
    return n_fft, n_mels


class LogMel(nn.Module):
    """Waveforms (B, 1, T) -> standardised log-mel spectrograms (B, 1, mels, frames)."""

    def __init__(self, sample_rate: int) -> None:
        super().__init__()
        n_fft, n_mels = mel_settings(sample_rate)
        self.mel = MelSpectrogram(sample_rate, n_fft=n_fft, hop_length=n_fft // 2, n_mels=n_mels)
        self.register_buffer("mean", torch.zeros(()))
        self.register_buffer("std", torch.ones(()))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return (torch.log(self.mel(x) + 1e-6) - self.mean) / self.std


class DigitClassifier(nn.Module):
    """Three conv blocks over the log-mel image, global pooling, a 128-wide embedding, logits."""

    def __init__(self, sample_rate: int, n_classes: int) -> None:
        super().__init__()
        self.front = LogMel(sample_rate)
        blocks: list[nn.Module] = []
        width = 1
        for out in (16, 32, 64):
            blocks += [nn.Conv2d(width, out, 3, padding=1), nn.BatchNorm2d(out), nn.ReLU(), nn.MaxPool2d(2)]
            width = out
        self.body = nn.Sequential(*blocks, nn.AdaptiveAvgPool2d(1), nn.Flatten())
        self.embedding = nn.Sequential(nn.Linear(width, FEATURES), nn.ReLU())
        self.out = nn.Sequential(nn.Dropout(0.3), nn.Linear(FEATURES, n_classes))

    def features(self, x: torch.Tensor) -> torch.Tensor:
        """The embedding FID is computed in (the pool3 features of this classifier)."""
        return self.embedding(self.body(self.front(x)))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.out(self.features(x))

    @torch.no_grad()
    def embed(self, clips: torch.Tensor) -> tuple[np.ndarray, np.ndarray]:
        """(features, class probabilities) of waveforms: the metrics' feature space."""
        probs, feats = predict(self, clips)
        return feats.double().numpy(), probs.double().numpy()


def split(n: int, seed: int) -> tuple[torch.Tensor, torch.Tensor]:
    """Train and held-out indices (80/20), drawn from `seed`."""
    order = torch.randperm(n, generator=torch.Generator().manual_seed(seed))
    n_test = max(1, int(n * TEST_FRACTION))
    return order[n_test:], order[:n_test]


def _speed(x: torch.Tensor, factor: float) -> torch.Tensor:
    """Plays `x` `factor` times as fast (pitch moves with it, like tape), same length."""
    length = x.shape[-1]
    stretched = F.interpolate(x, size=max(2, round(length / factor)), mode="linear", align_corners=False)
    if stretched.shape[-1] >= length:
        return stretched[..., :length]
    return F.pad(stretched, (0, length - stretched.shape[-1]))


def listener_augment(x: torch.Tensor, generator: torch.Generator) -> torch.Tensor:
    """Changes a listener ignores: shift (up to 1/8 of the window), gain (-6..+3 dB), noise
    (20 to 40 dB SNR, half the clips) and speed (+-7%, one factor per batch)."""
    n = len(x)
    limit = x.shape[-1] // 8
    x = torch.roll(x, int(torch.randint(-limit, limit + 1, (), generator=generator)), dims=-1)
    x = _speed(x, 1.0 + (float(torch.rand((), generator=generator)) * 2 - 1) * 0.07)
    gain_db = torch.rand(n, 1, 1, generator=generator) * 9 - 6
    x = x * 10 ** (gain_db / 20)
    snr_db = torch.rand(n, 1, 1, generator=generator) * 20 + 20
    power = x.pow(2).mean(dim=-1, keepdim=True).clamp_min(1e-8)
    noisy = (torch.rand(n, 1, 1, generator=generator) < 0.5).float()
    noise = torch.randn(x.shape, generator=generator) * (power / 10 ** (snr_db / 10)).sqrt()
    return x + noisy * noise


@torch.no_grad()
def predict(model: DigitClassifier, x: torch.Tensor, batch: int = 256) -> tuple[torch.Tensor, torch.Tensor]:
    """(softmax probabilities, embedding features) of waveforms `x`, in eval mode."""
    model.eval()
    probs, feats = [], []
    for chunk in x.split(batch):
        f = model.features(chunk)
        feats.append(f)
        probs.append(F.softmax(model.out(f), dim=1))
    return torch.cat(probs), torch.cat(feats)


def train_classifier(
    x: torch.Tensor, labels: torch.Tensor, sample_rate: int, n_classes: int, seed: int
) -> TrainedMetricModel:
    """Trains on the 80% split (augmented); reports the accuracy on the held-out 20% (as is).

    Every random draw comes from `seed`; run it inside `deterministic_training` for the weights.
    """
    generator = torch.Generator().manual_seed(seed)
    train_idx, test_idx = split(len(x), seed)
    settings = {"sample_rate": sample_rate, "n_classes": n_classes}
    model = build_classifier(settings)
    with torch.no_grad():  # standardise inputs with the training split's log-mel statistics
        logmel = torch.log(model.front.mel(x[train_idx[:512]]) + 1e-6)
        model.front.mean.fill_(logmel.mean())
        model.front.std.fill_(logmel.std().clamp_min(1e-3))
    steps = min(MAX_STEPS, 25 * math.ceil(len(train_idx) / BATCH))
    optimizer = torch.optim.Adam(model.parameters(), 1e-3)
    schedule = torch.optim.lr_scheduler.OneCycleLR(optimizer, 3e-3, total_steps=steps)
    model.train()
    for _ in range(steps):
        pick = train_idx[torch.randint(len(train_idx), (min(BATCH, len(train_idx)),), generator=generator)]
        loss = F.cross_entropy(model(listener_augment(x[pick], generator)), labels[pick])
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
        schedule.step()
    probs, _ = predict(model, x[test_idx])
    accuracy = (probs.argmax(1) == labels[test_idx]).float().mean().item()
    return TrainedMetricModel(model.eval(), settings, {"classifier_accuracy": accuracy})


def build_classifier(settings: dict[str, Any]) -> DigitClassifier:
    return DigitClassifier(settings["sample_rate"], settings["n_classes"])


def classifier_recipe(
    x: torch.Tensor, labels: torch.Tensor, sample_rate: int, n_classes: int, seed: int, fingerprint: str
) -> MetricModelRecipe:
    """The audio metric model of this data: named by its fingerprint, rate, classes and seed."""
    return MetricModelRecipe(
        kind="audio-classifier",
        version=VERSION,
        fingerprint=fingerprint,
        params={"sample_rate": sample_rate, "classes": n_classes, "seed": seed},
        train=lambda: train_classifier(x, labels, sample_rate, n_classes, seed),
        build=build_classifier,
        seed=seed,
    )
