"""The toy sample artifact: real and generated points in one scatter plot."""

from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")  # files only; no display on servers and workers
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import torch  # noqa: E402


def write_scatter(fakes: torch.Tensor, reals: torch.Tensor | None, out_dir: Path) -> Path:
    out_dir.mkdir(parents=True, exist_ok=True)
    figure, axes = plt.subplots(figsize=(5, 5), dpi=100)
    if reals is not None:
        axes.scatter(reals[:, 0], reals[:, 1], s=4, alpha=0.5, c="tab:blue", label="real")
    axes.scatter(fakes[:, 0], fakes[:, 1], s=4, alpha=0.5, c="tab:orange", label="generated")
    axes.set_aspect("equal")
    axes.legend(loc="upper right", markerscale=3)
    path = out_dir / "scatter.png"
    figure.savefig(path, bbox_inches="tight")
    plt.close(figure)
    return path


def write_points_csv(points: torch.Tensor, out_dir: Path) -> Path:
    """Generated points as `x,y` rows, no header: what the toy modality reads (`dataset: file`)."""
    out_dir.mkdir(parents=True, exist_ok=True)
    path = out_dir / "samples.csv"
    np.savetxt(path, points.numpy(), delimiter=",", fmt="%.6f")
    return path
