"""DCGAN and SNGAN-style ResNet generators and discriminators, optionally class-conditional.

Conditional G: the class id is the latent's last column (see `ImageModality.sample_latents`);
it drives conditional BatchNorm (Miyato & Koyama) and is returned with the image as (x, y).
Conditional D: projection discriminator, D(x, y) = linear(phi(x)) + <embed(y), phi(x)>. The
class embedding is a bias-free Linear on one-hot labels, so the platform's spectral-norm switch
(which wraps Linear and Conv layers) normalises it as in SNGAN. G's forward has no randomness
and no data-dependent Python branches: it exports with `torch.export` for any batch size.

Both nets are built in channels-last (NHWC) memory format. On a CPU, oneDNN runs convolutions
NHWC whatever the layout they are given (bf16 always), so NCHW weights make every convolution
reorder its input and its gradient: in bf16 that copy cost more than the convolutions of a ResNet
step (shapes_resnet: 0.150 -> 0.092 s per G step on one core, benchmarks/image_layout.py). Values are
the same in either layout; the format carries through BatchNorm, activations and checkpoints.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn

from ganforge.modalities.image.augment import diff_augment
from ganforge.modalities.image.config import ImageModel
from ganforge.platform.gan.layers import MinibatchStd

Tensor = torch.Tensor


class ConditionalBatchNorm2d(nn.Module):
    """BatchNorm whose gain and bias come from the class (or are plain parameters if K = 0)."""

    def __init__(self, features: int, num_classes: int) -> None:
        super().__init__()
        self.bn = nn.BatchNorm2d(features, affine=num_classes == 0)
        self.gain = nn.Embedding(num_classes, features) if num_classes else None
        self.bias = nn.Embedding(num_classes, features) if num_classes else None
        if self.gain is not None and self.bias is not None:
            nn.init.ones_(self.gain.weight)
            nn.init.zeros_(self.bias.weight)

    def forward(self, x: Tensor, y: Tensor | None) -> Tensor:
        h = self.bn(x)
        if self.gain is None or self.bias is None or y is None:
            return h
        return h * self.gain(y)[:, :, None, None] + self.bias(y)[:, :, None, None]


def _split_latents(z: Tensor, num_classes: int) -> tuple[Tensor, Tensor | None]:
    """(noise, class ids): the class id is the last latent column when conditional."""
    if not num_classes:
        return z, None
    y = z[:, -1].round().long().clamp(0, num_classes - 1)
    return z[:, :-1], y


def _up_count(size: int) -> int:
    return int(math.log2(size // 4))


class DcganGenerator(nn.Module):
    """z -> 4x4 -> transposed-conv doublings to size x size (Radford et al., 2016)."""

    def __init__(self, model: ImageModel, size: int, channels: int) -> None:
        super().__init__()
        self.num_classes = model.num_classes
        ups = _up_count(size)
        widths = [model.g_channels * 2 ** (ups - 1 - k) for k in range(ups)]
        self.fc = nn.Linear(model.latent_dim, widths[0] * 16, bias=model.dcgan_biases)
        self.norms = nn.ModuleList([ConditionalBatchNorm2d(w, model.num_classes) for w in widths])
        self.ups = nn.ModuleList(
            [nn.ConvTranspose2d(a, b, 4, 2, 1, bias=False) for a, b in zip(widths, widths[1:], strict=False)]
        )
        self.out = nn.ConvTranspose2d(widths[-1], channels, 4, 2, 1, bias=model.dcgan_biases)
        _dcgan_init(self)

    def forward(self, z: Tensor) -> Tensor | tuple[Tensor, Tensor]:
        noise, y = _split_latents(z, self.num_classes)
        h = self.fc(noise).unflatten(1, (-1, 4, 4))
        h = F.relu(self.norms[0](h, y))
        for up, norm in zip(self.ups, self.norms[1:], strict=True):
            h = F.relu(norm(up(h), y))
        x = torch.tanh(self.out(h))
        return x if y is None else (x, y)


class DcganDiscriminator(nn.Module):
    """Strided convolutions halving the size down to 4x4, then a linear (plus projection) head."""

    def __init__(self, model: ImageModel, size: int, channels: int) -> None:
        super().__init__()
        self.augments = model.augments
        downs = _up_count(size)
        widths = [model.d_channels * 2**k for k in range(downs)]
        first = nn.Conv2d(channels, widths[0], 4, 2, 1, bias=model.dcgan_biases)
        layers: list[nn.Module] = [first, nn.LeakyReLU(0.2)]
        for a, b in zip(widths, widths[1:], strict=False):
            layers.append(nn.Conv2d(a, b, 4, 2, 1, bias=model.d_norm == "none"))
            if model.d_norm == "batch":
                layers.append(nn.BatchNorm2d(b))
            layers.append(nn.LeakyReLU(0.2))
        if model.minibatch_std:  # after the last 4x4 map, before the head, as in StyleGAN's D
            layers.append(MinibatchStd(model.minibatch_std))
        self.features = nn.Sequential(*layers)
        width = widths[-1] + (1 if model.minibatch_std else 0)
        self.head = ProjectionHead(width * 16, model.num_classes, bias=model.dcgan_biases)
        _dcgan_init(self)

    def forward(self, x: Tensor, y: Tensor | None = None) -> Tensor:
        if self.training and self.augments:
            x = diff_augment(x, self.augments)
        return self.head(self.features(x).flatten(1), y)


class ProjectionHead(nn.Module):
    """linear(h) + <embed(y), h> (Miyato & Koyama, 2018); just linear(h) when unconditional."""

    def __init__(self, features: int, num_classes: int, bias: bool = True) -> None:
        super().__init__()
        self.num_classes = num_classes
        self.linear = nn.Linear(features, 1, bias=bias)
        self.embed = nn.Linear(num_classes, features, bias=False) if num_classes else None

    def forward(self, h: Tensor, y: Tensor | None) -> Tensor:
        out = self.linear(h).squeeze(1)
        if self.embed is None or y is None:
            return out  # an unconditional D ignores the labels of a labelled data set
        one_hot = F.one_hot(y.long(), self.num_classes).to(h.dtype)
        return out + (self.embed(one_hot) * h).sum(dim=1)


class GBlock(nn.Module):
    """Pre-activation residual block that doubles the size (SNGAN / BigGAN generator)."""

    def __init__(self, cin: int, cout: int, num_classes: int) -> None:
        super().__init__()
        self.bn1 = ConditionalBatchNorm2d(cin, num_classes)
        self.conv1 = nn.Conv2d(cin, cout, 3, 1, 1)
        self.bn2 = ConditionalBatchNorm2d(cout, num_classes)
        self.conv2 = nn.Conv2d(cout, cout, 3, 1, 1)
        self.skip = nn.Conv2d(cin, cout, 1)

    def forward(self, x: Tensor, y: Tensor | None) -> Tensor:
        h = F.interpolate(F.relu(self.bn1(x, y)), scale_factor=2.0, mode="nearest")
        h = self.conv2(F.relu(self.bn2(self.conv1(h), y)))
        return h + self.skip(F.interpolate(x, scale_factor=2.0, mode="nearest"))


class DBlock(nn.Module):
    """Residual block of D, halving the size when `down` (first block: no pre-activation)."""

    def __init__(self, cin: int, cout: int, down: bool, first: bool, norm: str) -> None:
        super().__init__()
        self.down, self.first = down, first
        self.conv1 = nn.Conv2d(cin, cout, 3, 1, 1)
        self.conv2 = nn.Conv2d(cout, cout, 3, 1, 1)
        self.skip = nn.Conv2d(cin, cout, 1) if (cin != cout or down) else None
        self.norm1 = nn.BatchNorm2d(cin) if norm == "batch" and not first else nn.Identity()
        self.norm2 = nn.BatchNorm2d(cout) if norm == "batch" else nn.Identity()

    def forward(self, x: Tensor) -> Tensor:
        h = x if self.first else F.relu(self.norm1(x))
        h = self.conv2(F.relu(self.norm2(self.conv1(h))))
        h = F.avg_pool2d(h, 2) if self.down else h
        if self.skip is None:
            return h + x
        # SNGAN pools after the 1x1 shortcut except in its first block; a 1x1 convolution and a
        # 2x2 average commute, so pooling first everywhere gives the same output for a quarter of
        # the shortcut's work.
        return h + self.skip(F.avg_pool2d(x, 2) if self.down else x)


class ResnetGenerator(nn.Module):
    """SNGAN ResNet generator: z -> 4x4 -> residual up-blocks -> BN, ReLU, conv, tanh."""

    def __init__(self, model: ImageModel, size: int, channels: int) -> None:
        super().__init__()
        self.num_classes = model.num_classes
        ch = model.g_channels
        self.fc = nn.Linear(model.latent_dim, ch * 16)
        self.blocks = nn.ModuleList([GBlock(ch, ch, model.num_classes) for _ in range(_up_count(size))])
        self.bn = nn.BatchNorm2d(ch)
        self.out = nn.Conv2d(ch, channels, 3, 1, 1)
        _xavier_init(self)

    def forward(self, z: Tensor) -> Tensor | tuple[Tensor, Tensor]:
        noise, y = _split_latents(z, self.num_classes)
        h = self.fc(noise).unflatten(1, (-1, 4, 4))
        for block in self.blocks:
            h = block(h, y)
        x = torch.tanh(self.out(F.relu(self.bn(h))))
        return x if y is None else (x, y)


class ResnetDiscriminator(nn.Module):
    """SNGAN ResNet discriminator: down-blocks to 8x8 (at least one), two more blocks, sum pool."""

    def __init__(self, model: ImageModel, size: int, channels: int) -> None:
        super().__init__()
        self.augments = model.augments
        ch, downs = model.d_channels, max(1, int(math.log2(size)) - 3)
        blocks = [DBlock(channels, ch, True, True, model.d_norm)]
        blocks += [DBlock(ch, ch, True, False, model.d_norm) for _ in range(downs - 1)]
        blocks += [DBlock(ch, ch, False, False, model.d_norm) for _ in range(2)]
        self.blocks = nn.Sequential(*blocks)
        self.batch_std = MinibatchStd(model.minibatch_std) if model.minibatch_std else nn.Identity()
        self.head = ProjectionHead(ch + (1 if model.minibatch_std else 0), model.num_classes)
        _xavier_init(self)

    def forward(self, x: Tensor, y: Tensor | None = None) -> Tensor:
        if self.training and self.augments:
            x = diff_augment(x, self.augments)
        h = self.batch_std(F.relu(self.blocks(x))).sum(dim=(2, 3))
        return self.head(h, y)


def _dcgan_init(module: nn.Module) -> None:
    for layer in module.modules():
        if isinstance(layer, nn.Conv2d | nn.ConvTranspose2d | nn.Linear):
            nn.init.normal_(layer.weight, 0.0, 0.02)
            if layer.bias is not None:
                nn.init.zeros_(layer.bias)


def _xavier_init(module: nn.Module) -> None:
    for layer in module.modules():
        if isinstance(layer, nn.Conv2d | nn.Linear):
            nn.init.xavier_uniform_(layer.weight)
            if layer.bias is not None:
                nn.init.zeros_(layer.bias)


def build_generator(model: ImageModel, size: int, channels: int) -> nn.Module:
    """G for images of `size` x `size` pixels with `channels` channels."""
    net = (DcganGenerator if model.arch == "dcgan" else ResnetGenerator)(model, size, channels)
    return net.to(memory_format=torch.channels_last)


def build_discriminator(model: ImageModel, size: int, channels: int) -> nn.Module:
    net = (DcganDiscriminator if model.arch == "dcgan" else ResnetDiscriminator)(model, size, channels)
    return net.to(memory_format=torch.channels_last)
