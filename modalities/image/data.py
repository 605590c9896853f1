"""Real images: built-in offline sets (`digits`, `shapes`), a folder of images, `.npz` arrays.

Every source ends as one in-memory TensorDataset of (x, y): x float NCHW in [-1, 1], y int64
class ids (all 0 for unlabelled data). An unconditional D ignores y; the platform shards it.
"""

from __future__ import annotations

import logging
import os
import tempfile
import zipfile
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from PIL import Image, ImageDraw, ImageOps, UnidentifiedImageError
from torch.utils.data import TensorDataset

from ganforge.modalities.image.config import ImageData
from ganforge.platform.errors import DataError
from ganforge.platform.home import ganforge_home

log = logging.getLogger(__name__)

IMAGE_SUFFIXES = {".png", ".jpg", ".jpeg", ".bmp", ".gif", ".webp"}
SHAPES = ("circle", "square", "triangle")
COLOURS = {"red": (230, 40, 40), "green": (40, 200, 60), "blue": (50, 90, 240)}
SUPERSAMPLE = 4  # shapes are drawn 4x larger and reduced: smooth (anti-aliased) edges


def cache_dir() -> Path:
    """Where the image modality keeps generated data and metric classifiers."""
    path = ganforge_home() / "cache" / "image"
    path.mkdir(parents=True, exist_ok=True)
    return path


def class_names(cfg: ImageData) -> list[str]:
    """The class names of the configured data (a user folder or file is read for them)."""
    return read_images(cfg)[1]


def load_images(cfg: ImageData) -> TensorDataset:
    """The real set as a TensorDataset of (images in [-1, 1], class ids)."""
    return read_images(cfg)[0]


def read_images(cfg: ImageData) -> tuple[TensorDataset, list[str]]:
    """The real set and its class names, from one pass over the data."""
    if cfg.dataset == "digits":
        (x, y), names = _digits(), [str(d) for d in range(10)]
    elif cfg.dataset == "shapes":
        x, y = _shapes_cached(cfg.size, cfg.n_samples, cfg.seed)
        names = [f"{colour}-{shape}" for shape in SHAPES for colour in COLOURS]
    elif cfg.dataset == "folder":
        classes = _folder_classes(_path(cfg))
        x, y = _read_folder(classes, _path(cfg), cfg.size, cfg.n_channels)
        names = [name for name, _ in classes]
    else:
        x, y, names = _read_npz(_path(cfg))
    x = _to_channels(_resize(x, cfg.size), cfg.n_channels)
    return TensorDataset(x.clamp(-1, 1).contiguous(), y.long()), names


def _path(cfg: ImageData) -> Path:
    assert cfg.path is not None  # the config validator guarantees it
    return cfg.path


def _resize(x: torch.Tensor, size: int) -> torch.Tensor:
    """Centre-crops to a square and resizes (antialiased) to size x size."""
    h, w = x.shape[-2:]
    side = min(h, w)
    top, left = (h - side) // 2, (w - side) // 2
    x = x[..., top : top + side, left : left + side]
    if side == size:
        return x
    return F.interpolate(x, size=(size, size), mode="bilinear", antialias=True, align_corners=False)


def _to_channels(x: torch.Tensor, channels: int) -> torch.Tensor:
    if x.shape[1] == channels:
        return x
    if channels == 3:
        return x.expand(-1, 3, -1, -1)
    return x.mean(dim=1, keepdim=True)  # RGB -> grey


def _digits() -> tuple[torch.Tensor, torch.Tensor]:
    """scikit-learn's bundled 8x8 digits (1,797 images, values 0..16): no download."""
    from sklearn.datasets import load_digits

    digits = load_digits()
    x = torch.as_tensor(digits.images, dtype=torch.float32).unsqueeze(1) / 16.0 * 2 - 1
    return x, torch.as_tensor(digits.target)


def draw_shapes(size: int, n: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """`n` images of one shape each on a dark background; class = shape x colour. uint8 NHWC."""
    rng = np.random.default_rng(seed)
    big = size * SUPERSAMPLE
    images = np.empty((n, size, size, 3), dtype=np.uint8)
    labels = rng.integers(len(SHAPES) * len(COLOURS), size=n)
    colours = list(COLOURS.values())
    for i, label in enumerate(labels):
        shape, colour = SHAPES[label // len(COLOURS)], colours[label % len(COLOURS)]
        canvas = Image.new("RGB", (big, big), (16, 16, 16))
        draw = ImageDraw.Draw(canvas)
        radius = rng.uniform(0.2, 0.34) * big
        cx, cy = rng.uniform(radius, big - radius, size=2)
        if shape == "circle":
            draw.ellipse((cx - radius, cy - radius, cx + radius, cy + radius), fill=colour)
        elif shape == "square":
            half = radius * 0.85
            draw.rectangle((cx - half, cy - half, cx + half, cy + half), fill=colour)
        else:
            draw.regular_polygon((cx, cy, radius), 3, rotation=float(rng.uniform(0, 120)), fill=colour)
        images[i] = np.asarray(canvas.resize((size, size), Image.Resampling.LANCZOS))
    return images, labels


def _shapes_cached(size: int, n: int, seed: int) -> tuple[torch.Tensor, torch.Tensor]:
    """The shapes set, drawn once per (size, n, seed) and kept under the cache folder."""
    path = cache_dir() / f"shapes-{size}-{n}-{seed}.npz"
    if path.exists():
        with np.load(path) as stored:
            images, labels = stored["x"], stored["y"]
    else:
        images, labels = draw_shapes(size, n, seed)
        _atomic_savez(path, x=images, y=labels)
    return _uint8_to_tensor(images), torch.as_tensor(labels)


def _atomic_savez(path: Path, **arrays: np.ndarray) -> None:
    # Two workers may build the same file at once: write aside, then rename (atomic).
    fd, tmp = tempfile.mkstemp(dir=path.parent, suffix=".npz")
    with os.fdopen(fd, "wb") as handle:
        np.savez(handle, **arrays)
    os.replace(tmp, path)


def _uint8_to_tensor(images: np.ndarray) -> torch.Tensor:
    """uint8 NHWC (or NHW) -> float NCHW in [-1, 1]."""
    x = torch.as_tensor(images, dtype=torch.float32)
    x = x.unsqueeze(-1) if x.ndim == 3 else x
    return x.permute(0, 3, 1, 2) / 127.5 - 1


def _images_in(folder: Path) -> list[Path]:
    return sorted(p for p in folder.rglob("*") if p.is_file() and p.suffix.lower() in IMAGE_SUFFIXES)


def _folder_classes(root: Path) -> list[tuple[str, list[Path]]]:
    """(class name, files): one class per sub-folder holding images, else one class for all."""
    if not root.is_dir():
        raise DataError(f"{root}: data.path is not a folder")
    subfolders = sorted(p for p in root.iterdir() if p.is_dir())
    classes = [(p.name, files) for p in subfolders if (files := _images_in(p))]
    if not classes:
        files = _images_in(root)
        classes = [("all", files)] if files else []
    if not classes:
        raise DataError(f"{root}: no images found ({', '.join(sorted(IMAGE_SUFFIXES))})")
    return classes


def _read_folder(
    classes: list[tuple[str, list[Path]]], root: Path, size: int, channels: int
) -> tuple[torch.Tensor, torch.Tensor]:
    mode = "L" if channels == 1 else "RGB"
    images, labels, skipped = [], [], 0
    for label, (_, files) in enumerate(classes):
        for file in files:
            try:
                with Image.open(file) as image:
                    image = ImageOps.fit(image.convert(mode), (size, size), Image.Resampling.LANCZOS)
                    images.append(np.asarray(image, dtype=np.uint8))
            except (OSError, UnidentifiedImageError, ValueError):
                skipped += 1
                continue
            labels.append(label)
    if skipped:
        log.warning("%s: skipped %d unreadable image file(s)", root, skipped)
    if not images:
        raise DataError(f"{root}: none of the image files could be read ({skipped} skipped)")
    return _uint8_to_tensor(np.stack(images)), torch.as_tensor(labels)


def _load_npz(path: Path) -> dict[str, np.ndarray]:
    if path.is_dir():
        raise DataError(f"{path}: is a directory, expected a .npz file")
    if path.is_file() and not zipfile.is_zipfile(path):
        # numpy would take it for a pickle and suggest allow_pickle: not what the user needs
        raise DataError(f"{path}: not a valid .npz file")
    try:
        with np.load(path, allow_pickle=False) as stored:
            return {key: stored[key] for key in stored.files}
    except (OSError, ValueError, EOFError, zipfile.BadZipFile) as error:
        raise DataError(f"{path}: cannot read .npz arrays ({error})") from None


def _read_npz(path: Path) -> tuple[torch.Tensor, torch.Tensor, list[str]]:
    """`x`: (N, H, W), (N, H, W, C) or (N, C, H, W), uint8 0..255 or float in [-1, 1]; `y`: ids;
    `class_names` (optional): a name per id, else the ids as names."""
    arrays = _load_npz(path)
    if "x" not in arrays:
        raise DataError(f"{path}: expected an array named 'x' (found: {', '.join(arrays) or 'none'})")
    x = arrays["x"]
    if x.ndim not in (3, 4) or len(x) == 0:
        raise DataError(f"{path}: x has shape {x.shape}; expected (N, H, W[, C]) or (N, C, H, W)")
    if x.ndim == 4 and x.shape[1] in (1, 3) and x.shape[-1] not in (1, 3):
        x = np.moveaxis(x, 1, -1)  # NCHW -> NHWC
    if x.dtype == np.uint8:
        images = _uint8_to_tensor(x)
    else:
        images = torch.as_tensor(x, dtype=torch.float32)
        images = (images.unsqueeze(-1) if images.ndim == 3 else images).permute(0, 3, 1, 2)
        if not torch.isfinite(images).all() or images.abs().max() > 1.0 + 1e-3:
            raise DataError(f"{path}: float images must be finite and in [-1, 1] (or store uint8)")
    labels = arrays.get("y", np.zeros(len(x), dtype=np.int64))
    if labels.shape != (len(x),) or (labels.size and labels.min() < 0):
        raise DataError(f"{path}: y must hold one non-negative class id per image")
    if "class_names" in arrays:
        names = [str(name) for name in arrays["class_names"]]
    else:
        names = [str(i) for i in range(int(labels.max()) + 1 if labels.size else 1)]
    return images, torch.as_tensor(labels.astype(np.int64)), names
