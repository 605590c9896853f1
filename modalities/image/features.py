"""The feature network of the image metrics: a small CNN classifier trained on the real data.

No machine here can download Inception weights, so FID/KID/IS/precision-recall live in the
feature space of a classifier trained once per dataset (cached by the data's fingerprint under
<GANFORGE_HOME>/cache/image). Labelled data: its classes. One class: the rotation task (which
of 0/90/180/270 degrees), a self-supervised stand-in that still learns shape features.
"""

from __future__ import annotations

import logging
import os
import tempfile
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from ganforge.modalities.image.data import cache_dir

log = logging.getLogger(__name__)
Tensor = torch.Tensor
VERSION = 1  # bump when FeatureNet or its training changes: old cache files are then ignored
FEATURES = 128


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


@torch.enable_grad()  # evaluation runs under no_grad; this training needs gradients
def train_classifier(
    x: Tensor, y: Tensor, num_classes: int, steps: int, seed: int = 0
) -> tuple[FeatureNet, float]:
    """Trains on 80% of the data and returns the net and its accuracy on the other 20%."""
    generator = torch.Generator().manual_seed(seed)
    rotation = num_classes < 2
    if rotation:
        x, y = _rotation_task(x, generator)
    order = torch.randperm(len(x), generator=generator)
    cut = max(1, int(0.8 * len(x)))
    train, test = order[:cut], order[cut:] if len(order) > cut else order[:cut]
    net = FeatureNet(x.shape[1], 4 if rotation else num_classes)
    optimizer = torch.optim.Adam(net.parameters(), 2e-3)
    schedule = torch.optim.lr_scheduler.CosineAnnealingLR(optimizer, steps)
    net.train()
    for _ in range(steps):
        pick = train[torch.randint(len(train), (min(128, len(train)),), generator=generator)]
        loss = F.cross_entropy(net(x[pick]), y[pick])
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
        schedule.step()
    accuracy = _accuracy(net, x[test], y[test])
    net.eval()
    return net, accuracy


def load_or_train_classifier(
    x: Tensor, y: Tensor, num_classes: int, steps: int, fingerprint: str
) -> tuple[FeatureNet, float]:
    """The cached classifier of this data, training (and caching) it on first use."""
    path = cache_dir() / f"classifier-v{VERSION}-{fingerprint}-{num_classes}-{steps}.pt"
    outputs = 4 if num_classes < 2 else num_classes
    if path.exists():
        stored = torch.load(path, weights_only=True)
        net = FeatureNet(x.shape[1], outputs)
        net.load_state_dict(stored["state"])
        return net.eval(), float(stored["accuracy"])
    log.info("training the metric classifier on %d real images (cached at %s)", len(x), path)
    net, accuracy = train_classifier(x, y, num_classes, steps)
    _atomic_save({"state": net.state_dict(), "accuracy": accuracy}, path)
    return net, accuracy


def _atomic_save(obj: dict, path: Path) -> None:
    # Concurrent jobs on the same data may train it at once: write aside, then rename.
    fd, tmp = tempfile.mkstemp(dir=path.parent, suffix=".pt")
    os.close(fd)
    torch.save(obj, tmp)
    os.replace(tmp, path)
