"""Image artifacts: sample grids a person can judge in the MLflow UI, and one PNG per sample on export.

Small images are enlarged with nearest-neighbour (no invented detail, crisp pixels) so that each
tile is at least `MIN_TILE` pixels and a grid at least `MIN_WIDTH` wide: MLflow shows the logged
PNG at its own size when a sample card is opened, and a 16-pixel digit is unreadable at 1:1.
"""

from __future__ import annotations

import math
import re
from pathlib import Path
from typing import Any

import numpy as np
import torch
from PIL import Image, ImageDraw, ImageFont

from ganforge.platform.gan.batch import Batch, labels_of, samples_of

COLUMNS = 8
MAX_ROWS = 16
MIN_TILE = 64  # pixels per enlarged tile
MIN_WIDTH = 512  # pixels across a grid of COLUMNS tiles
PAIR_COLUMNS = 4  # per side of the real-vs-generated image: two squarish panels side by side
PAIR_ROWS = 8
PAD = 4  # pixels between tiles, after enlarging
BACKGROUND = (255, 255, 255)
INK = (40, 40, 40)


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


def enlargement(height: int, width: int, columns: int = COLUMNS) -> int:
    """The integer nearest-neighbour factor that makes a tile >= MIN_TILE and a grid >= MIN_WIDTH."""
    return max(1, math.ceil(MIN_TILE / min(height, width)), math.ceil(MIN_WIDTH / (columns * width)))


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


def _font(size: int) -> ImageFont.FreeTypeFont | ImageFont.ImageFont:
    return ImageFont.load_default(size=size)  # Pillow's bundled font: nothing to install


def _tiles(images: np.ndarray, rows: list[list[int]], columns: int, scale: int) -> Image.Image:
    """Enlarged images on a white canvas, `rows` of indices into `images`, PAD pixels apart."""
    _, h, w, _ = images.shape
    th, tw = h * scale, w * scale
    canvas = Image.new("RGB", (columns * (tw + PAD) + PAD, len(rows) * (th + PAD) + PAD), BACKGROUND)
    for r, row in enumerate(rows):
        for col, index in enumerate(row):
            tile = _to_pil(images[index]).convert("RGB").resize((tw, th), Image.Resampling.NEAREST)
            canvas.paste(tile, (PAD + col * (tw + PAD), PAD + r * (th + PAD)))
    return canvas


def _with_row_labels(grid: Image.Image, labels: list[str], row_height: int) -> Image.Image:
    """The grid with a column on its left naming each row (the class of a conditional run)."""
    font = _font(max(12, min(row_height // 3, 24)))
    probe = ImageDraw.Draw(grid)
    margin = 8
    width = max(int(probe.textlength(label, font=font)) for label in labels) + 2 * margin
    out = Image.new("RGB", (grid.width + width, grid.height), BACKGROUND)
    out.paste(grid, (width, 0))
    draw = ImageDraw.Draw(out)
    for r, label in enumerate(labels):
        middle = PAD + r * (row_height + PAD) + row_height // 2
        draw.text((width - margin, middle), label, fill=INK, font=font, anchor="rm")
    return out


def _with_title(panel: Image.Image, title: str) -> Image.Image:
    font = _font(22)
    out = Image.new("RGB", (panel.width, panel.height + 36), BACKGROUND)
    out.paste(panel, (0, 36))
    ImageDraw.Draw(out).text((panel.width // 2, 18), title, fill=INK, font=font, anchor="mm")
    return out


def class_label(label: int, class_names: list[str] | None) -> str:
    """A class as a person reads it: its name, else its number."""
    names = class_names or []
    return names[label] if 0 <= label < len(names) else str(label)


def write_grid(
    batch: Batch,
    out_dir: Path,
    num_classes: int,
    name: str = "samples.png",
    class_names: list[str] | None = None,
) -> Path:
    """A PNG grid of the batch (fixed latents, so grids of successive steps line up).

    Conditional batches (labels and `num_classes > 1`) get one row per class, named at its start.
    """
    images = to_uint8(samples_of(batch))
    rows = grid_rows(batch, num_classes)
    _, h, w, _ = images.shape
    scale = enlargement(h, w)
    grid = _tiles(images, rows, COLUMNS, scale)
    if labels_of(batch) and num_classes > 1:
        grid = _with_row_labels(grid, [class_label(c, class_names) for c in range(len(rows))], h * scale)
    out_dir.mkdir(parents=True, exist_ok=True)
    path = out_dir / name
    grid.save(path)
    return path


def write_real_vs_generated(fakes: Batch, reals: Batch, out_dir: Path) -> Path:
    """One PNG: real images on the left, generated ones on the right, at the same enlargement."""
    real, fake = to_uint8(samples_of(reals)), to_uint8(samples_of(fakes))
    count = min(len(real), len(fake), PAIR_COLUMNS * PAIR_ROWS)
    rows = [list(range(i, min(i + PAIR_COLUMNS, count))) for i in range(0, count, PAIR_COLUMNS)]
    _, h, w, _ = fake.shape
    scale = enlargement(h, w, PAIR_COLUMNS * 2)
    panels = [
        _with_title(_tiles(x, rows, PAIR_COLUMNS, scale), t) for x, t in ((real, "real"), (fake, "generated"))
    ]
    gap = 24
    out = Image.new("RGB", (2 * panels[0].width + gap, panels[0].height), BACKGROUND)
    out.paste(panels[0], (0, 0))
    out.paste(panels[1], (panels[0].width + gap, 0))
    ImageDraw.Draw(out).line(
        [(panels[0].width + gap // 2, 36), (panels[0].width + gap // 2, out.height - PAD)],
        fill=(190, 190, 190),
        width=2,
    )
    out_dir.mkdir(parents=True, exist_ok=True)
    path = out_dir / "real_vs_generated.png"
    out.save(path)
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
