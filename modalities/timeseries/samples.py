"""Sample artifacts of series: a real-vs-generated plot and a CSV in the original units."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import matplotlib

matplotlib.use("Agg")  # files only; no display on servers and workers
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import torch  # noqa: E402

from ganforge.modalities.timeseries.data import unscale  # noqa: E402

PLOT_SERIES = 6


def write_series_csv(x: torch.Tensor, out_dir: Path, info: dict[str, Any]) -> Path:
    """All generated windows in original units, long format: sample, t, then one column per feature."""
    out_dir.mkdir(parents=True, exist_ok=True)
    values = unscale(x.float().numpy(), info)
    n, length, features = values.shape
    index = np.stack(np.meshgrid(np.arange(n), np.arange(length), indexing="ij"), axis=-1).reshape(-1, 2)
    table = np.concatenate([index, values.reshape(-1, features)], axis=1)
    path = out_dir / "samples.csv"
    header = ",".join(["sample", "t", *info.get("columns", [f"x{i}" for i in range(features)])])
    np.savetxt(path, table, delimiter=",", header=header, comments="", fmt=["%d", "%d", *["%.6g"] * features])
    return path


def write_series_plot(fakes: torch.Tensor, reals: torch.Tensor, out_dir: Path, info: dict[str, Any]) -> Path:
    """Left: a few real windows; right: generated ones, feature 0 (original units) on the same axes."""
    out_dir.mkdir(parents=True, exist_ok=True)
    real = unscale(reals.float().numpy(), info)
    fake = unscale(fakes.float().numpy(), info)
    columns = info.get("columns") or [f"x{i}" for i in range(real.shape[2])]
    features = min(real.shape[2], 3)
    figure, axes = plt.subplots(
        features, 2, figsize=(10, 2.8 * features), dpi=100, sharey="row", squeeze=False
    )
    for f in range(features):
        for col, (data, title) in enumerate(((real, "real"), (fake, "generated"))):
            ax = axes[f, col]
            ax.plot(data[:PLOT_SERIES, :, f].T, linewidth=1)
            ax.set_title(f"{title}: {columns[f]}", fontsize=12)
    figure.tight_layout()
    path = out_dir / "real_vs_generated.png"
    figure.savefig(path)
    plt.close(figure)
    return path
