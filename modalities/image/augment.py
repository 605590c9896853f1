"""Differentiable image augmentations: DiffAugment's and adaptive augmentation's.

DiffAugment (Zhao et al., 2020; `model.diffaugment`): colour, translation and cutout applied
inside D to reals and fakes alike, always, so G's gradient flows through the augmentation.
Adaptive augmentation (gan.ada; `model.ada_ops`): `ADA_OPS`, which the platform applies to D's
inputs per sample with an adaptive probability p (platform/gan/ada.py). Each op draws its own
parameters per image. Images are in [-1, 1], NCHW.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

Tensor = torch.Tensor


def _rand(x: Tensor, *shape: int) -> Tensor:
    return torch.rand(len(x), *shape, dtype=x.dtype, device=x.device)


def color(x: Tensor) -> Tensor:
    """Random brightness, saturation and contrast per image."""
    x = x + (_rand(x, 1, 1, 1) - 0.5)
    mean = x.mean(dim=1, keepdim=True)
    x = (x - mean) * (_rand(x, 1, 1, 1) * 2) + mean
    mean = x.mean(dim=(1, 2, 3), keepdim=True)
    return (x - mean) * (_rand(x, 1, 1, 1) + 0.5) + mean


def translation(x: Tensor, ratio: float = 0.125) -> Tensor:
    """Shifts each image by up to `ratio` of its size, filling with zeros."""
    n, _, h, w = x.shape
    sh, sw = int(h * ratio + 0.5), int(w * ratio + 0.5)
    ty = torch.randint(-sh, sh + 1, (n, 1, 1), device=x.device)
    tx = torch.randint(-sw, sw + 1, (n, 1, 1), device=x.device)
    gb, gy, gx = torch.meshgrid(
        torch.arange(n, device=x.device),
        torch.arange(h, device=x.device),
        torch.arange(w, device=x.device),
        indexing="ij",
    )
    # Index a one-pixel zero border for everything shifted in from outside the image.
    gy = torch.clamp(gy + ty + 1, 0, h + 1)
    gx = torch.clamp(gx + tx + 1, 0, w + 1)
    padded = F.pad(x, [1, 1, 1, 1]).permute(0, 2, 3, 1)
    return padded[gb, gy, gx].permute(0, 3, 1, 2)


def cutout(x: Tensor, ratio: float = 0.5) -> Tensor:
    """Zeroes one random square of `ratio` of the size in each image."""
    n, _, h, w = x.shape
    ch, cw = int(h * ratio + 0.5), int(w * ratio + 0.5)
    oy = torch.randint(0, h + (1 - ch % 2), (n, 1, 1), device=x.device)
    ox = torch.randint(0, w + (1 - cw % 2), (n, 1, 1), device=x.device)
    gb, gy, gx = torch.meshgrid(
        torch.arange(n, device=x.device),
        torch.arange(ch, device=x.device),
        torch.arange(cw, device=x.device),
        indexing="ij",
    )
    gy = torch.clamp(gy + oy - ch // 2, 0, h - 1)
    gx = torch.clamp(gx + ox - cw // 2, 0, w - 1)
    mask = torch.ones(n, h, w, dtype=x.dtype, device=x.device)
    mask[gb, gy, gx] = 0
    return x * mask.unsqueeze(1)


AUGMENTATIONS = {"color": color, "translation": translation, "cutout": cutout}


def diff_augment(x: Tensor, policy: tuple[str, ...]) -> Tensor:
    """Applies the named augmentations in order (names from `ImageModel.diffaugment`)."""
    for name in policy:
        x = AUGMENTATIONS[name](x)
    return x.contiguous()


# Adaptive augmentation's ops (StyleGAN2-ADA's "bgc" pipeline in spirit: blit, then colour, then
# cutout). Whether an image is augmented at all is decided outside, with probability p.


def xflip(x: Tensor) -> Tensor:
    """Mirrors the image left-right (opt-in: see `ImageModel.ada_ops`)."""
    return x.flip(3)


def rot90(x: Tensor) -> Tensor:
    """Turns each image by 90, 180 or 270 degrees, drawn per image (square images; opt-in)."""
    n = len(x)
    turned = torch.stack([torch.rot90(x, k, dims=(2, 3)) for k in (1, 2, 3)])
    return turned[torch.randint(0, 3, (n,), device=x.device), torch.arange(n, device=x.device)]


def _mirror(index: Tensor, size: int) -> Tensor:
    """Reflects indices in [-(size-1), 2(size-1)] back into [0, size-1] (edge pixel not repeated)."""
    last = size - 1
    return last - (last - index.abs()).abs()


def integer_translation(x: Tensor, ratio: float = 0.125) -> Tensor:
    """Shifts each image by whole pixels, up to `ratio` of its size, mirroring the image into
    the gap (as ADA pads): unlike a constant fill, no border tells D that an image was moved."""
    n, _, h, w = x.shape
    sh, sw = int(h * ratio + 0.5), int(w * ratio + 0.5)
    ty = torch.randint(-sh, sh + 1, (n, 1), device=x.device)
    tx = torch.randint(-sw, sw + 1, (n, 1), device=x.device)
    rows = _mirror(torch.arange(h, device=x.device) - ty, h)  # (n, h): source row of each row
    cols = _mirror(torch.arange(w, device=x.device) - tx, w)
    batch = torch.arange(n, device=x.device)[:, None, None]
    return x.permute(0, 2, 3, 1)[batch, rows[:, :, None], cols[:, None, :]].permute(0, 3, 1, 2)


ADA_OPS = {
    "xflip": xflip,
    "rot90": rot90,
    "translation": integer_translation,
    "color": color,
    "cutout": cutout,
}
"""`model.ada_ops` names -> ops; colour is DiffAugment's (brightness, saturation, contrast)."""
