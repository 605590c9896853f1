"""A log-mel CNN classifier trained on the real set: the feature space of the audio metrics.

No pretrained audio network can be downloaded here, so, as WaveGAN's authors did for SC09, the
metrics use a classifier trained on the real data itself. It is trained once per data
fingerprint and cached under GANFORGE_HOME/cache/audio; its held-out accuracy is reported so a
weak classifier (and so a weak metric) is visible.
"""

from __future__ import annotations

import hashlib
import math

import torch
import torch.nn.functional as F  # noqa: N812
import torchaudio
from torch import nn

from ganforge.platform.tracking.store import ganforge_home

CLASSIFIER_VERSION = 2  # bump when the recipe changes: it is part of the cache key
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
        self.mel = torchaudio.transforms.MelSpectrogram(
            sample_rate, n_fft=n_fft, hop_length=n_fft // 2, n_mels=n_mels
        )
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
        self.embed = nn.Sequential(nn.Linear(width, FEATURES), nn.ReLU())
        self.out = nn.Sequential(nn.Dropout(0.3), nn.Linear(FEATURES, n_classes))

    def features(self, x: torch.Tensor) -> torch.Tensor:
        """The embedding FID is computed in (the pool3 features of this classifier)."""
        return self.embed(self.body(self.front(x)))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.out(self.features(x))


def split(n: int, seed: int) -> tuple[torch.Tensor, torch.Tensor]:
    """Train and held-out indices (80/20), drawn from `seed`."""
    order = torch.randperm(n, generator=torch.Generator().manual_seed(seed))
    n_test = max(1, int(n * TEST_FRACTION))
    return order[n_test:], order[:n_test]


def _augment(x: torch.Tensor, generator: torch.Generator) -> torch.Tensor:
    """Random shifts (up to 1/8 of the window) and gains: robust to where a GAN puts the word."""
    limit = x.shape[-1] // 8
    shift = int(torch.randint(-limit, limit + 1, (), generator=generator))
    gain = torch.empty(x.shape[0], 1, 1).uniform_(0.5, 1.0, generator=generator)
    return torch.roll(x, shift, dims=-1) * gain


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
) -> tuple[DigitClassifier, float]:
    """Trains on the 80% split; returns the model and its accuracy on the held-out 20%."""
    with torch.enable_grad():  # evaluation runs under no_grad; this training needs gradients
        return _train(x, labels, sample_rate, n_classes, seed)


def _train(
    x: torch.Tensor, labels: torch.Tensor, sample_rate: int, n_classes: int, seed: int
) -> tuple[DigitClassifier, float]:
    torch.manual_seed(seed)
    generator = torch.Generator().manual_seed(seed)
    train_idx, test_idx = split(len(x), seed)
    model = DigitClassifier(sample_rate, n_classes)
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
        loss = F.cross_entropy(model(_augment(x[pick], generator)), labels[pick])
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
        schedule.step()
    probs, _ = predict(model, x[test_idx])
    accuracy = (probs.argmax(1) == labels[test_idx]).float().mean().item()
    return model, accuracy


def data_key(x: torch.Tensor, labels: torch.Tensor, sample_rate: int) -> str:
    """Cache key of a classifier: the data, its labels, its rate and the recipe version."""
    digest = hashlib.sha256(f"{CLASSIFIER_VERSION}:{sample_rate}".encode())
    digest.update(x.contiguous().numpy().tobytes())
    digest.update(labels.contiguous().numpy().tobytes())
    return digest.hexdigest()[:16]


def cached_classifier(
    x: torch.Tensor, labels: torch.Tensor, sample_rate: int, n_classes: int, seed: int
) -> tuple[DigitClassifier, float]:
    """The classifier for this data, trained on first use and kept under GANFORGE_HOME."""
    path = ganforge_home() / "cache" / "audio" / f"classifier-{data_key(x, labels, sample_rate)}-s{seed}.pt"
    model = DigitClassifier(sample_rate, n_classes)
    if path.is_file():
        try:
            state = torch.load(path, weights_only=True)
            model.load_state_dict(state["model"])
            return model, float(state["accuracy"])
        except (RuntimeError, KeyError, OSError):
            pass  # a damaged or foreign cache file: train afresh and replace it
    model, accuracy = train_classifier(x, labels, sample_rate, n_classes, seed)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(f".tmp{id(model)}")
    torch.save({"model": model.state_dict(), "accuracy": accuracy}, tmp)
    tmp.replace(path)  # atomic: parallel workers never read half a file
    return model, accuracy
