"""TimeGAN's five networks (Yoon et al., NeurIPS 2019), as GRU stacks with a sigmoid read-out.

The generator module the platform trains, EMA-averages and exports holds the whole generation
path and the embedder: noise -> G -> supervisor S -> recovery R -> series. The embedder E lives
in it too (it is trained with R, and checkpoints then cover all four). The discriminator works
in the latent space and scores every time step.
"""

from __future__ import annotations

import torch
from torch import nn

from ganforge.modalities.sequence.config import SequenceModel

Tensor = torch.Tensor


class _Recurrent(nn.Module):
    """GRU stack followed by a per-step linear read-out (sigmoid for bounded outputs)."""

    def __init__(self, inputs: int, hidden: int, outputs: int, layers: int, squash: bool = True) -> None:
        super().__init__()
        self.rnn = nn.GRU(inputs, hidden, num_layers=layers, batch_first=True)
        self.head = nn.Linear(hidden, outputs)
        self.squash = squash

    def forward(self, x: Tensor) -> Tensor:
        out = self.head(self.rnn(x)[0])
        return torch.sigmoid(out) if self.squash else out


class TimeGanGenerator(nn.Module):
    """Embedder, recovery, generator and supervisor; `forward` maps latents to series (n, T, D)."""

    def __init__(self, cfg: SequenceModel, features: int) -> None:
        super().__init__()
        hidden, layers = cfg.hidden, cfg.num_layers
        self.seq_len, self.noise_dim = cfg.seq_len, cfg.noise_dim
        self.embedder = _Recurrent(features, hidden, hidden, layers)
        self.recovery = _Recurrent(hidden, hidden, features, layers)
        self.generator = _Recurrent(cfg.noise_dim, hidden, hidden, layers)
        self.supervisor = _Recurrent(hidden, hidden, hidden, max(layers - 1, 1))

    def noise(self, z: Tensor) -> Tensor:
        return z.reshape(z.shape[0], self.seq_len, self.noise_dim)

    def forward(self, z: Tensor) -> Tensor:
        """Latents (n, seq_len * noise_dim) uniform in [0, 1) -> scaled series (n, T, D) in [0, 1]."""
        return self.recovery(self.supervisor(self.generator(self.noise(z))))


class TimeGanDiscriminator(nn.Module):
    """Scores latent sequences (n, T, H): one logit per time step, (n, T)."""

    def __init__(self, cfg: SequenceModel) -> None:
        super().__init__()
        hidden = cfg.hidden
        self.net = _Recurrent(hidden, hidden, 1, cfg.num_layers, squash=False)

    def forward(self, h: Tensor) -> Tensor:
        return self.net(h).squeeze(-1)
