"""Inception features from a TorchScript file the user names (`data.eval.inception`).

No machine here downloads weights, so the file must already be on disk. The format is the one
FID tools share: clean-fid's and StyleGAN3's `inception-2015-12-05.pt`, a TorchScript module
called as `model(x)` for the 1008 class logits and `model(x, return_features=True)` for the 2048
pool features, on float images of shape (N, 3, 299, 299) with values in [0, 255].
"""

from __future__ import annotations

import warnings
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

from ganforge.platform.errors import ConfigError

Tensor = torch.Tensor
INPUT_SIZE = 299


class InceptionFile:
    """FID-style Inception as a feature extractor: `embed(images) -> (features, probabilities)`."""

    def __init__(self, path: Path) -> None:
        try:
            with warnings.catch_warnings():
                # torch 2.11 deprecates TorchScript, but the published FID Inception files are TorchScript.
                warnings.simplefilter("ignore", DeprecationWarning)
                self.model = torch.jit.load(str(path), map_location="cpu").eval()
        except (RuntimeError, ValueError) as exc:
            raise ConfigError(f"data.eval.inception: cannot load {path}: {exc}") from None
        self.path = path

    @staticmethod
    def to_input(images: Tensor) -> Tensor:
        """Images in [-1, 1] (grey or RGB, any size) -> (N, 3, 299, 299) in [0, 255]."""
        x = (images.float().clamp(-1, 1) + 1) * 127.5
        if x.shape[1] == 1:
            x = x.expand(-1, 3, -1, -1)
        x = F.interpolate(x, size=(INPUT_SIZE, INPUT_SIZE), mode="bilinear", align_corners=False)
        return x.clamp(0, 255)  # float rounding in the resize can step just outside the range

    @torch.no_grad()
    def embed(self, images: Tensor, batch: int = 100) -> tuple[np.ndarray, np.ndarray]:
        feats, probs = [], []
        for chunk in images.split(batch):
            x = self.to_input(chunk)
            feats.append(self.model(x, return_features=True))
            probs.append(self.model(x).softmax(1))
        return torch.cat(feats).double().numpy(), torch.cat(probs).double().numpy()
