"""TimeGAN's five networks (Yoon et al., NeurIPS 2019), as GRU stacks with a sigmoid read-out.

The generator module the platform trains, EMA-averages and exports holds the whole generation
path and the embedder: noise -> G -> supervisor S -> recovery R -> series. The embedder E lives
in it too (it is trained with R, and checkpoints then cover all four). The discriminator works
in the latent space and scores every time step. Every builder takes the window length and
the feature count from the data (`SeriesPrepared.info`), the widths from the model config.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from ganforge.modalities.timeseries.config import SeriesModel
from ganforge.modalities.timeseries.gru import gru_states

Tensor = torch.Tensor


class _Recurrent(nn.Module):
    """GRU stack followed by a per-step linear read-out (sigmoid for bounded outputs)."""

    def __init__(
        self,
        inputs: int,
        hidden: int,
        outputs: int,
        layers: int,
        squash: bool = True,
        bidirectional: bool = False,
    ) -> None:
        super().__init__()
        self.rnn = nn.GRU(inputs, hidden, num_layers=layers, batch_first=True, bidirectional=bidirectional)
        self.head = nn.Linear(hidden * (2 if bidirectional else 1), outputs)
        self.squash = squash

    def forward(self, x: Tensor) -> Tensor:
        out = self.head(gru_states(self.rnn, x))
        return torch.sigmoid(out) if self.squash else out


class TimeGanGenerator(nn.Module):
    """Embedder, recovery, generator and supervisor; `forward` maps latents to series (n, T, D)."""

    def __init__(self, cfg: SeriesModel, seq_len: int, features: int) -> None:
        super().__init__()
        hidden, layers = cfg.hidden_dim, cfg.num_layers
        self.seq_len, self.noise_dim = seq_len, cfg.noise_dim
        self.embedder = _Recurrent(features, hidden, hidden, layers)
        self.recovery = _Recurrent(hidden, hidden, features, layers, bidirectional=cfg.bidirectional_recovery)
        self.generator = _Recurrent(cfg.noise_dim, hidden, hidden, layers)
        self.supervisor = _Recurrent(hidden, hidden, hidden, max(layers - 1, 1))

    def noise(self, z: Tensor) -> Tensor:
        return z.reshape(z.shape[0], self.seq_len, self.noise_dim)

    def forward(self, z: Tensor) -> Tensor:
        """Latents (n, seq_len * noise_dim) uniform in [0, 1) -> scaled series (n, T, D) in [0, 1]."""
        return self.recovery(self.supervisor(self.generator(self.noise(z))))


class TimeGanDiscriminator(nn.Module):
    """Scores latent sequences (n, T, H): one logit per time step, (n, T)."""

    def __init__(self, cfg: SeriesModel) -> None:
        super().__init__()
        hidden = cfg.hidden_dim
        self.net = _Recurrent(hidden, hidden, 1, cfg.num_layers, squash=False)

    def forward(self, h: Tensor) -> Tensor:
        return self.net(h).squeeze(-1)


class ConvSeriesGenerator(nn.Module):
    """Whole-window generator: all the noise -> coarse (hidden, T/4) features -> upsampling convs.

    Every output step sees every noise value through the first linear layer, so global traits of
    a window (frequency, phase, level) come from one draw. Starting coarse and upsampling by
    linear interpolation keeps windows smooth, which a same-resolution conv stack is not.
    """

    def __init__(self, cfg: SeriesModel, seq_len: int, features: int) -> None:
        super().__init__()
        width, self.seq_len = cfg.hidden_dim, seq_len
        self.sizes = [max(seq_len >> (cfg.num_layers - 1 - i), 1) for i in range(cfg.num_layers)]
        self.project = nn.Linear(seq_len * cfg.noise_dim, width * self.sizes[0])
        # BatchNorm as in DCGAN's generator: without it the noise's effect fades through the
        # layers at initialisation and G collapses to one window.
        self.blocks = nn.ModuleList(
            nn.Sequential(nn.BatchNorm1d(width), nn.ReLU(), nn.Conv1d(width, width, 5, padding=2))
            for _ in range(cfg.num_layers)
        )
        self.out = nn.Sequential(nn.BatchNorm1d(width), nn.ReLU(), nn.Conv1d(width, features, 5, padding=2))

    def forward(self, z: Tensor) -> Tensor:
        """Latents (n, seq_len * noise_dim) -> scaled series (n, T, D) in [0, 1]."""
        z = (z - 0.5) * 3.4641  # U[0, 1) -> zero mean, unit variance
        h = self.project(z).reshape(z.shape[0], -1, self.sizes[0])
        for size, block in zip(self.sizes, self.blocks, strict=True):
            h = block(F.interpolate(h, size=size, mode="linear", align_corners=True))
        return torch.sigmoid(self.out(h)).transpose(1, 2)


class ConvSeriesDiscriminator(nn.Module):
    """Temporal convolutions over a window (n, T, D), then one logit per window."""

    def __init__(self, cfg: SeriesModel, seq_len: int, features: int) -> None:
        super().__init__()
        width = cfg.hidden_dim
        layers: list[nn.Module] = [nn.Conv1d(features, width, 5, padding=2)]
        for _ in range(cfg.num_layers - 1):
            layers += [nn.LeakyReLU(0.2), nn.Conv1d(width, width, 5, padding=2)]
        self.body = nn.Sequential(*layers, nn.LeakyReLU(0.2))
        self.head = nn.Linear(width * seq_len, 1)

    def forward(self, x: Tensor) -> Tensor:
        return self.head(self.body(x.transpose(1, 2)).flatten(1)).squeeze(1)
