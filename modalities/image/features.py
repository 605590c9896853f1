"""The image metric model: a small CNN classifier trained on the real data (no downloads).

FID/KID/IS/precision-recall (platform/metrics) live in this network's feature space. Labelled
data: its classes. One class: the rotation task (which of 0/90/180/270 degrees), a
self-supervised stand-in that still learns shape features. It is trained with the changes a
viewer ignores (sub-pixel shifts, contrast, brightness, noise, slight blur), so that real
images under such changes score near the real floor and only what a viewer would call wrong
moves the metrics. The platform trains it deterministically and stores it once per data
fingerprint (platform/metrics/store.py).
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from ganforge.platform.metrics import MetricModelRecipe, TrainedMetricModel

Tensor = torch.Tensor
VERSION = 2  # the metric version: bump when FeatureNet, its augmentations or its training change
FEATURES = 128
BATCH = 128
MAX_SHIFT = 2.0  # pixels: a generator that draws the right thing one or two pixels off is not wrong


class FeatureNet(nn.Module):
    """conv(16) -> conv(32, /2) -> conv(64, /2) -> conv(128, /2) -> global mean: 128 features."""

    def __init__(self, channels: int, outputs: int) -> None:
        super().__init__()
        widths = [channels, 16, 32, 64, FEATURES]
        layers: list[nn.Module] = []
        for i, (a, b) in enumerate(zip(widths, widths[1:], strict=False)):
            layers += [nn.Conv2d(a, b, 3, 1 if i == 0 else 2, 1, bias=False), nn.BatchNorm2d(b), nn.ReLU()]
        self.body = nn.Sequential(*layers)
        self.fc = nn.Linear(FEATURES, outputs)

    def features(self, x: Tensor) -> Tensor:
        return self.body(x).mean(dim=(2, 3))

    def classify(self, h: Tensor) -> Tensor:
        return self.fc(h)

    def forward(self, x: Tensor) -> Tensor:
        return self.classify(self.features(x))

    @torch.no_grad()
    def embed(self, images: Tensor, batch: int = 500) -> tuple[np.ndarray, np.ndarray]:
        """(features, class probabilities) of images in [-1, 1]: the metrics' feature space."""
        feats, probs = [], []
        for chunk in images.split(batch):
            h = self.features(chunk.float())
            feats.append(h)
            probs.append(self.classify(h).softmax(1))
        return torch.cat(feats).double().numpy(), torch.cat(probs).double().numpy()


def _uniform(n: int, low: float, high: float, generator: torch.Generator) -> Tensor:
    return torch.rand(n, generator=generator) * (high - low) + low


def _shift(x: Tensor, generator: torch.Generator) -> Tensor:
    """Sub-pixel translations of up to MAX_SHIFT pixels, edges repeated."""
    n, _, h, w = x.shape
    theta = torch.zeros(n, 2, 3)
    theta[:, 0, 0] = theta[:, 1, 1] = 1.0
    theta[:, 0, 2] = _uniform(n, -MAX_SHIFT, MAX_SHIFT, generator) * 2 / w
    theta[:, 1, 2] = _uniform(n, -MAX_SHIFT, MAX_SHIFT, generator) * 2 / h
    grid = F.affine_grid(theta, list(x.shape), align_corners=False)
    return F.grid_sample(x, grid, padding_mode="border", align_corners=False)


def _blur(x: Tensor, sigma: float) -> Tensor:
    taps = torch.arange(-1.0, 2.0)
    kernel = torch.exp(-(taps**2) / (2 * sigma**2))
    kernel = kernel / kernel.sum()
    channels = x.shape[1]
    padded = F.pad(x, (1, 1, 1, 1), mode="replicate")
    padded = F.conv2d(padded, kernel.view(1, 1, 1, 3).expand(channels, 1, 1, 3), groups=channels)
    return F.conv2d(padded, kernel.view(1, 1, 3, 1).expand(channels, 1, 3, 1), groups=channels)


def viewer_augment(x: Tensor, generator: torch.Generator) -> Tensor:
    """Changes a viewer ignores, each drawn per image: shift, contrast, brightness, noise, blur."""
    n = len(x)
    x = _shift(x, generator)
    mean = x.mean(dim=(1, 2, 3), keepdim=True)
    contrast = torch.exp(_uniform(n, math.log(0.67), math.log(1.5), generator)).view(n, 1, 1, 1)
    brightness = _uniform(n, -0.1, 0.1, generator).view(n, 1, 1, 1)
    x = (x - mean) * contrast + mean + brightness
    noisy = (torch.rand(n, generator=generator) < 0.5).float().view(n, 1, 1, 1)
    sigma = _uniform(n, 0.0, 0.1, generator).view(n, 1, 1, 1)
    x = x + noisy * sigma * torch.randn(x.shape, generator=generator)
    if float(torch.rand((), generator=generator)) < 0.25:  # one blur strength per batch
        x = _blur(x, float(_uniform(1, 0.3, 1.0, generator)))
    return x.clamp(-1, 1)


def _rotation_task(x: Tensor, generator: torch.Generator) -> tuple[Tensor, Tensor]:
    turns = torch.randint(4, (len(x),), generator=generator)
    rotated = torch.stack([torch.rot90(img, int(k), dims=(1, 2)) for img, k in zip(x, turns, strict=True)])
    return rotated, turns


def _accuracy(net: FeatureNet, x: Tensor, y: Tensor) -> float:
    net.eval()
    with torch.no_grad():
        correct = sum(
            int((net(xb).argmax(1) == yb).sum()) for xb, yb in zip(x.split(500), y.split(500), strict=True)
        )
    return correct / max(len(y), 1)


def train_classifier(x: Tensor, y: Tensor, num_classes: int, steps: int, seed: int) -> TrainedMetricModel:
    """Trains on 80% of the data (augmented) and reports the accuracy on the other 20% (as is).

    Every random draw comes from `seed`; run it inside `deterministic_training` for the weights.
    """
    generator = torch.Generator().manual_seed(seed)
    rotation = num_classes < 2
    if rotation:
        x, y = _rotation_task(x, generator)
    order = torch.randperm(len(x), generator=generator)
    cut = max(1, int(0.8 * len(x)))
    train, test = order[:cut], order[cut:] if len(order) > cut else order[:cut]
    settings = {"channels": int(x.shape[1]), "outputs": 4 if rotation else num_classes}
    net = build_classifier(settings)
    optimizer = torch.optim.Adam(net.parameters(), 2e-3)
    schedule = torch.optim.lr_scheduler.CosineAnnealingLR(optimizer, steps)
    net.train()
    for _ in range(steps):
        pick = train[torch.randint(len(train), (min(BATCH, len(train)),), generator=generator)]
        loss = F.cross_entropy(net(viewer_augment(x[pick], generator)), y[pick])
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
        schedule.step()
    accuracy = _accuracy(net, x[test], y[test])
    return TrainedMetricModel(net.eval(), settings, {"classifier_accuracy": accuracy})


def build_classifier(settings: dict[str, Any]) -> FeatureNet:
    return FeatureNet(settings["channels"], settings["outputs"])


def classifier_recipe(x: Tensor, y: Tensor, steps: int, seed: int, fingerprint: str) -> MetricModelRecipe:
    """The image metric model of this data: named by its fingerprint, classes, steps and seed."""
    num_classes = int(y.max()) + 1
    return MetricModelRecipe(
        kind="image-classifier",
        version=VERSION,
        fingerprint=fingerprint,
        params={"classes": num_classes, "steps": steps, "seed": seed},
        train=lambda: train_classifier(x, y, num_classes, steps, seed),
        build=build_classifier,
        seed=seed,
    )
