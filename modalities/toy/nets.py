"""MLP networks for 2-D data."""

from __future__ import annotations

import torch
from torch import nn

from ganforge.modalities.toy.config import ToyModel


def _mlp(inputs: int, hidden: int, layers: int, outputs: int, act: nn.Module, norm: bool) -> nn.Sequential:
    blocks: list[nn.Module] = []
    width = inputs
    for _ in range(layers):
        blocks.append(nn.Linear(width, hidden))
        if norm:
            blocks.append(nn.BatchNorm1d(hidden))
        blocks.append(act)
        width = hidden
    blocks.append(nn.Linear(width, outputs))
    return nn.Sequential(*blocks)


class ToyGenerator(nn.Module):
    def __init__(self, cfg: ToyModel) -> None:
        super().__init__()
        self.net = _mlp(cfg.latent_dim, cfg.g_hidden, cfg.g_layers, 2, nn.ReLU(), cfg.g_batch_norm)

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        return self.net(z)


class ToyDiscriminator(nn.Module):
    """Scores groups of `pack` points; with pack=1 it is a plain discriminator."""

    def __init__(self, cfg: ToyModel) -> None:
        super().__init__()
        self.pack = cfg.pack
        self.net = _mlp(2 * cfg.pack, cfg.d_hidden, cfg.d_layers, 1, nn.LeakyReLU(0.2), False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if x.shape[0] % self.pack:
            raise ValueError(f"batch of {x.shape[0]} is not a multiple of pack={self.pack}")
        return self.net(x.reshape(x.shape[0] // self.pack, -1)).squeeze(1)
