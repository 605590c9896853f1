"""WaveGAN (Donahue, McAuley, Puckette 2019): generator, discriminator and phase shuffle.

G: latent -> dense -> (16 steps, C channels) -> L transposed convolutions (kernel 25, stride 4,
ReLU, channels halving) -> tanh. D mirrors it with strided convolutions, LeakyReLU(0.2) and
phase shuffle, then one dense logit. No BatchNorm anywhere (WGAN-GP penalises per-example
gradients). For window lengths with an odd power of two, the last G layer and the first D layer
use stride 2 (as the authors' 32,768-sample model does).

Options beyond the paper: `model.upsample: nearest` or `linear` (upsample, then convolve: no
checkerboard tone), `model.spectral_d` (STFT discriminators beside the waveform one, their
logits summed), `model.minibatch_std` and `model.pack` (PacGAN), both against mode dropping.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F  # noqa: N812
from torch import nn

from ganforge.modalities.audio.config import AudioModel
from ganforge.platform.gan.layers import MinibatchStd

START_STEPS = 16  # G's dense layer produces 16 time steps, as in the paper


def layer_strides(window: int) -> list[int]:
    """Strides of G's upsampling layers, in order, that take 16 steps to `window` samples."""
    doublings = int(math.log2(window // START_STEPS))
    strides = [4] * (doublings // 2)
    return strides + [2] if doublings % 2 else strides


def _padding(kernel: int, stride: int) -> tuple[int, int]:
    """(padding, output_padding) that make a layer change the length by exactly `stride`."""
    output_padding = (kernel - stride) % 2
    return (kernel - stride + output_padding) // 2, output_padding


def _widths(model_dim: int, layers: int) -> list[int]:
    """Channels before each G layer: d * 2^(L-1) down to d, then 1 (16d for 16,384 samples)."""
    return [model_dim * 2 ** (layers - 1 - i) for i in range(layers)] + [1]


class UpsampleConv(nn.Module):
    """Nearest-neighbour or linear upsampling by `stride`, then a convolution ("same" padding), as
    one transposed convolution: its kernel is the convolution's, flipped and filtered by the
    upsampler's taps (a box of `stride` ones; for `linear`, the triangle of half-pixel linear
    interpolation, as `nn.Upsample(mode="linear")` away from the edges). A constant input gives a
    constant output (no checkerboard tone), at the transposed convolution's cost rather than a
    convolution's over the upsampled length; linear also damps the repeats' spectral images.
    """

    def __init__(self, inputs: int, outputs: int, kernel: int, stride: int, kind: str = "nearest") -> None:
        super().__init__()
        self.conv = nn.Conv1d(inputs, outputs, kernel, padding=kernel // 2)  # holds the parameters
        self.stride = stride
        self.taps = (1.0,) * stride if kind == "nearest" else _linear_taps(stride)
        self.padding = kernel // 2 + (0 if kind == "nearest" else stride // 2)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        flipped, n = self.conv.weight.flip(-1), len(self.taps)
        # The full convolution of the flipped kernel with the taps: (out, in, k + n - 1).
        weight = sum(tap * F.pad(flipped, (t, n - 1 - t)) for t, tap in enumerate(self.taps))
        return F.conv_transpose1d(x, weight.transpose(0, 1), self.conv.bias, self.stride, self.padding)


def _linear_taps(stride: int) -> tuple[float, ...]:
    """Weights one input sample gives the 2 * stride outputs around it under half-pixel linear
    interpolation (align_corners=False): 1, 3, ..., 2s - 1, 2s - 1, ..., 1 over 2s."""
    up = [(2 * i + 1) / (2 * stride) for i in range(stride)]
    return (*up, *reversed(up))


def _upsampler(inputs: int, outputs: int, kernel: int, stride: int, kind: str) -> nn.Module:
    """One G layer that multiplies the length by `stride` exactly."""
    if kind in ("nearest", "linear"):
        return UpsampleConv(inputs, outputs, kernel, stride, kind)
    padding, output_padding = _padding(kernel, stride)
    return nn.ConvTranspose1d(inputs, outputs, kernel, stride, padding, output_padding)


class WaveGANGenerator(nn.Module):
    """Latents (B, latent_dim [+1 class column]) -> audio (B, 1, window) in [-1, 1]."""

    def __init__(self, cfg: AudioModel, window: int) -> None:
        super().__init__()
        self.conditional = cfg.conditional
        self.n_classes = cfg.n_classes
        strides = layer_strides(window)
        widths = _widths(cfg.model_dim, len(strides))
        inputs = cfg.latent_dim
        if cfg.conditional:
            # The class joins the latent as a learned embedding (as wide as the latent).
            self.embed = nn.Embedding(cfg.n_classes, cfg.latent_dim)
            inputs += cfg.latent_dim
        self.dense = nn.Linear(inputs, START_STEPS * widths[0])
        self.layers = nn.ModuleList(
            _upsampler(widths[i], widths[i + 1], cfg.kernel_size, stride, cfg.upsample)
            for i, stride in enumerate(strides)
        )

    def forward(self, z: torch.Tensor) -> torch.Tensor | tuple[torch.Tensor, torch.Tensor]:
        if self.conditional:
            # Clamped, so a stray id cannot index outside the table (and export needs no check).
            y = z[:, -1].round().long().clamp(0, self.n_classes - 1)
            h = torch.cat([z[:, :-1], self.embed(y)], dim=1)
        else:
            h = z
        h = F.relu(self.dense(h).view(z.shape[0], -1, START_STEPS))
        for i, layer in enumerate(self.layers):
            h = layer(h)
            h = torch.tanh(h) if i == len(self.layers) - 1 else F.relu(h)
        return (h, y) if self.conditional else h


def phase_shuffle(x: torch.Tensor, radius: int) -> torch.Tensor:
    """Shifts each example by a random -radius..radius samples, filling the edge by reflection.

    The paper draws one shift per batch; one per example decorrelates D's input further at the
    same cost. A gather keeps it differentiable (for the gradient penalty). It reads the reflected
    positions straight from `x` rather than from a reflect-padded copy: the same values, but
    `F.pad(mode="reflect")` is slow in bf16 on a CPU (forward and backward took longer than the
    convolution after it at WaveGAN's first layer).
    """
    if radius == 0:
        return x
    batch, channels, length = x.shape
    shifts = torch.randint(-radius, radius + 1, (batch, 1, 1), device=x.device)
    source = (torch.arange(length, device=x.device).view(1, 1, -1) - shifts).abs()  # reflect at 0
    source = (length - 1) - ((length - 1) - source).abs()  # and at the last sample
    return x.gather(2, source.expand(batch, channels, length))


def pack_examples(x: torch.Tensor, pack: int) -> torch.Tensor:
    """(B, C, T) -> (B / pack, pack * C, T): each run of `pack` consecutive examples as one input."""
    if x.shape[0] % pack:
        raise ValueError(f"a batch of {x.shape[0]} clips is not a multiple of model.pack = {pack}")
    return x.reshape(x.shape[0] // pack, pack * x.shape[1], x.shape[2])


class WaveGANDiscriminator(nn.Module):
    """Audio (B, 1, window) [and class ids (B,)] -> one critic value per example, or per pack of
    `model.pack` examples (PacGAN: a pack's clips enter as the channels of one input)."""

    def __init__(self, cfg: AudioModel, window: int) -> None:
        super().__init__()
        strides = list(reversed(layer_strides(window)))
        widths = list(reversed(_widths(cfg.model_dim, len(strides))))
        self.radius = cfg.phase_shuffle
        self.pack = cfg.pack
        widths[0] = cfg.pack
        layers = []
        for i, stride in enumerate(strides):
            padding, _ = _padding(cfg.kernel_size, stride)
            layers.append(nn.Conv1d(widths[i], widths[i + 1], cfg.kernel_size, stride, padding))
        self.layers = nn.ModuleList(layers)
        self.batch_std = MinibatchStd(cfg.minibatch_std) if cfg.minibatch_std else None
        features = START_STEPS * (widths[-1] + (1 if self.batch_std else 0))
        self.head = nn.Linear(features, 1)
        # Projection discriminator (Miyato & Koyama 2018): <embed(y), features> joins the logit.
        self.project = nn.Embedding(cfg.n_classes, features) if cfg.conditional else None

    def forward(self, x: torch.Tensor, y: torch.Tensor | None = None) -> torch.Tensor:
        h = pack_examples(x, self.pack)
        for i, layer in enumerate(self.layers):
            h = F.leaky_relu(layer(h), 0.2)
            if i < len(self.layers) - 1:  # not after the last layer, as in the paper
                h = phase_shuffle(h, self.radius)
        if self.batch_std is not None:
            h = self.batch_std(h)
        h = h.flatten(1)
        logit = self.head(h).squeeze(1)
        if self.project is not None:
            if y is None:
                raise ValueError("the conditional discriminator needs class ids: D(x, y)")
            logit = logit + (self.project(y.long()) * h).sum(dim=1)
        return logit


class SpectrogramDiscriminator(nn.Module):
    """Audio (B, 1, window) -> one logit per example, read from its log-magnitude STFT at one FFT size.

    After UnivNet's multi-resolution D (Jang et al. 2021) at CPU size: 2-D convolutions with kernel
    (3, 9) over (frequency, time), strided by 2 on both axes, LeakyReLU(0.2), then a 1-channel
    convolution averaged over the map. The STFT is computed in float32 outside autocast.
    """

    def __init__(self, n_fft: int, channels: int) -> None:
        super().__init__()
        self.n_fft, self.hop = n_fft, n_fft // 4
        self.register_buffer("window", torch.hann_window(n_fft), persistent=False)
        kernel, padding = (3, 9), (1, 4)
        self.layers = nn.ModuleList(
            [nn.Conv2d(1, channels, kernel, (2, 2), padding)]
            + [nn.Conv2d(channels, channels, kernel, (2, 2), padding) for _ in range(2)]
        )
        self.head = nn.Conv2d(channels, 1, (3, 3), padding=(1, 1))

    def spectrogram(self, x: torch.Tensor) -> torch.Tensor:
        """(B, 1, window) -> log power (B, 1, n_fft / 2 + 1, frames)."""
        with torch.autocast(x.device.type, enabled=False):
            spec = torch.stft(
                x.float().squeeze(1), self.n_fft, self.hop, window=self.window, return_complex=True
            )
            # Power from real and imaginary parts (|z| has no finite gradient at 0); the floor is
            # about -70 dB below a full-scale sine's bin, under anything the data holds.
            power = torch.view_as_real(spec).pow(2).sum(-1)
            return torch.log(power + 1e-4).unsqueeze(1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h = self.spectrogram(x)
        for layer in self.layers:
            h = F.leaky_relu(layer(h), 0.2)
        return self.head(h).mean(dim=(1, 2, 3))


class WaveAndSpectrogramDiscriminator(nn.Module):
    """The waveform D plus one spectrogram D per FFT size; the logit is their sum.

    The class projection (conditional models) stays in the waveform D; the spectrogram Ds judge
    realism alone.
    """

    def __init__(self, cfg: AudioModel, window: int) -> None:
        super().__init__()
        self.wave = WaveGANDiscriminator(cfg, window)
        self.spectral = nn.ModuleList(SpectrogramDiscriminator(n, cfg.stft_channels) for n in cfg.stft_ffts)

    def forward(self, x: torch.Tensor, y: torch.Tensor | None = None) -> torch.Tensor:
        logit = self.wave(x, y)
        for d in self.spectral:
            logit = logit + d(x).view(logit.shape[0], -1).sum(dim=1)  # per pack, as the waveform D's
        return logit


def wavegan_discriminator(cfg: AudioModel, window: int) -> nn.Module:
    """The discriminator `cfg` asks for: the waveform D alone, or with spectrogram Ds beside it."""
    if cfg.spectral_d:
        return WaveAndSpectrogramDiscriminator(cfg, window)
    return WaveGANDiscriminator(cfg, window)
