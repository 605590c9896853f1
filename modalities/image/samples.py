"""Image artifacts: a sample grid for the MLflow image view, and one PNG per sample on export."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import numpy as np
import torch
from PIL import Image

from ganforge.platform.gan.batch import Batch, labels_of, samples_of

COLUMNS = 8
MAX_ROWS = 16
MIN_CELL = 48  # pixels per grid cell: small images are enlarged (nearest) to stay visible


def to_uint8(x: torch.Tensor) -> np.ndarray:
    """[-1, 1] NCHW floats -> uint8 NHWC."""
    return (
        ((x.detach().float().cpu() + 1) * 127.5)
        .round()
        .clamp(0, 255)
        .to(torch.uint8)
        .permute(0, 2, 3, 1)
        .numpy()
    )


def _to_pil(image: np.ndarray) -> Image.Image:
    return Image.fromarray(image[..., 0], "L") if image.shape[-1] == 1 else Image.fromarray(image, "RGB")


def grid_rows(batch: Batch, num_classes: int) -> list[list[int]]:
    """Sample indices per grid row: one row per class when labelled, else rows in order."""
    labels = labels_of(batch)
    n = len(samples_of(batch))
    if labels and num_classes > 1:
        y = labels[0].cpu()
        rows = [torch.nonzero(y == c).flatten()[:COLUMNS].tolist() for c in range(num_classes)]
        return rows[:MAX_ROWS]
    order = list(range(min(n, COLUMNS * COLUMNS)))
    return [order[i : i + COLUMNS] for i in range(0, len(order), COLUMNS)]


def write_grid(batch: Batch, out_dir: Path, num_classes: int, name: str = "samples.png") -> Path:
    """A PNG grid of the batch (fixed latents, so grids of successive steps line up)."""
    images = to_uint8(samples_of(batch))
    rows = grid_rows(batch, num_classes)
    _, h, w, c = images.shape
    pad = 2
    canvas = np.full((len(rows) * (h + pad) + pad, COLUMNS * (w + pad) + pad, c), 255, np.uint8)
    for r, row in enumerate(rows):
        for col, index in enumerate(row):
            top, left = pad + r * (h + pad), pad + col * (w + pad)
            canvas[top : top + h, left : left + w] = images[index]
    grid = _to_pil(canvas)
    scale = max(1, MIN_CELL // h)
    if scale > 1:
        grid = grid.resize((grid.width * scale, grid.height * scale), Image.Resampling.NEAREST)
    out_dir.mkdir(parents=True, exist_ok=True)
    path = out_dir / name
    grid.save(path)
    return path


def _safe(name: str) -> str:
    return re.sub(r"[^A-Za-z0-9_.-]+", "-", name)


def export_pngs(batch: Batch, out_dir: Path, info: dict[str, Any]) -> list[Path]:
    """One PNG per sample, `sample_00000.png`, with the class in the name when conditional."""
    out_dir.mkdir(parents=True, exist_ok=True)
    images = to_uint8(samples_of(batch))
    labels = labels_of(batch)
    names = info.get("class_names", [])
    paths = []
    for i, image in enumerate(images):
        suffix = ""
        if labels:
            label = int(labels[0][i])
            suffix = "_" + _safe(names[label] if label < len(names) else str(label))
        path = out_dir / f"sample_{i:05d}{suffix}.png"
        _to_pil(image).save(path)
        paths.append(path)
    return paths
