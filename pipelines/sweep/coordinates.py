"""A sweep at a glance: a parallel-coordinates picture of every trial's sampled values against the
ranking metric (one vertical axis per searched parameter, the metric last; one line per trial,
coloured by its metric, the best one drawn thick; log-uniform parameters on log axes)."""

from __future__ import annotations

import json
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import matplotlib

matplotlib.use("Agg")  # files only; no display on servers and workers
import matplotlib.pyplot as plt  # noqa: E402
from matplotlib.cm import ScalarMappable  # noqa: E402
from matplotlib.colors import Normalize  # noqa: E402

from ganforge.pipelines.sweep.outcome import TrialSummary  # noqa: E402
from ganforge.platform.config.sweep import Distribution  # noqa: E402

AXES_KEY = "ganforge.axes"
"""PNG text chunk: the axes drawn, left to right, as a JSON list (for tests and tools)."""
LINES_KEY = "ganforge.lines"
"""PNG text chunk: how many trial lines were drawn."""
_TICKS = 5  # labelled positions on a numeric axis
_UNSCORED = "#9a9a9a"  # trials without a metric value (errors, stopped early): grey, dashed

__all__ = ["AXES_KEY", "LINES_KEY", "Axis", "draw_parallel_coordinates"]


@dataclass(frozen=True)
class Axis:
    """One vertical axis: where each value sits on it (0 = bottom, 1 = top) and its tick labels."""

    name: str
    positions: list[float]
    """One per trial, NaN where the trial has no value (the line breaks there)."""
    ticks: list[tuple[float, str]]
    log: bool = False


def _number(value: Any) -> float | None:
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        return None
    return float(value)


def _numeric_axis(
    name: str,
    values: Sequence[Any],
    bounds: tuple[float, float] | None,
    log: bool,
    marks: Sequence[float] = (),
) -> Axis:
    """A continuous axis over `bounds` (the searched range) or, without them, the values' range;
    ticks at `marks` (a grid's listed values) when given, else evenly spread."""
    numbers = [_number(v) for v in values]
    known = [n for n in numbers if n is not None]
    low, high = bounds if bounds is not None else (min(known, default=0.0), max(known, default=1.0))
    low, high = min([low, *known]), max([high, *known])
    to_axis = math.log10 if log and low > 0 else float
    start, span = to_axis(low), to_axis(high) - to_axis(low)

    def place(n: float) -> float:
        return 0.5 if span == 0 else (to_axis(n) - start) / span

    if marks:
        ticks = [(place(m), f"{m:.3g}") for m in marks]
        return Axis(name, [place(n) if n is not None else math.nan for n in numbers], ticks)
    ticks = []
    for i in range(_TICKS if span else 1):
        y = i / (_TICKS - 1) if span else 0.5
        value = 10 ** (start + y * span) if to_axis is math.log10 else start + y * span
        ticks.append((y, f"{value:.3g}"))
    positions = [place(n) if n is not None else math.nan for n in numbers]
    return Axis(name=name, positions=positions, ticks=ticks, log=to_axis is math.log10)


def _category_axis(name: str, values: Sequence[Any], categories: Sequence[Any]) -> Axis:
    """Evenly spaced categories, in the order the sweep file lists them (then any others seen)."""
    labels = [str(c) for c in categories]
    labels += sorted({str(v) for v in values if v is not None} - set(labels))
    step = 1 / (len(labels) - 1) if len(labels) > 1 else 0.0
    where = {label: (i * step if len(labels) > 1 else 0.5) for i, label in enumerate(labels)}
    positions = [where[str(v)] if v is not None else math.nan for v in values]
    return Axis(name=name, positions=positions, ticks=[(where[label], label) for label in labels])


def parameter_axis(name: str, dist: Distribution | None, values: Sequence[Any]) -> Axis:
    """The axis of one searched parameter, as its distribution in the sweep file describes it."""
    if dist is not None and dist.kind in ("uniform", "loguniform", "randint"):
        low, high = (float(v) for v in dist.values)
        high = high - 1 if dist.kind == "randint" else high  # randint's high is exclusive
        return _numeric_axis(name, values, (low, high), log=dist.kind == "loguniform")
    listed = list(dist.values) if dist is not None else []
    if all(_number(v) is not None for v in [*listed, *(v for v in values if v is not None)]):
        marks = sorted({float(v) for v in listed}) if 0 < len(listed) <= _TICKS * 2 else []
        return _numeric_axis(name, values, None, log=False, marks=marks)
    return _category_axis(name, values, listed)


def _metric_axis(metric: str, mode: str, values: Sequence[float | None]) -> Axis:
    """The metric's axis, turned so that the better end is on top."""
    axis = _numeric_axis(metric, values, None, log=False)
    if mode == "max":
        return axis
    return Axis(
        name=axis.name,
        positions=[1 - p for p in axis.positions],
        ticks=[(1 - y, label) for y, label in axis.ticks],
    )


def draw_parallel_coordinates(
    trials: Sequence[TrialSummary],
    space: Mapping[str, Distribution],
    metric: str,
    mode: str,
    path: Path,
    title: str = "",
) -> Path:
    """Draws the trials as lines across one axis per searched parameter and the metric; writes a PNG.

    Args:
        trials: every trial of the sweep; those without a metric value are drawn grey and dashed,
            across the parameter axes only.
        space: the sweep's search space (which parameters, their distributions, their order).
        metric, mode: the ranking metric and whether lower ("min") or higher ("max") is better.
        path: where the PNG goes.
        title: a first line above the picture (e.g. the sweep's name).
    """
    keys = list(space) + sorted({k for t in trials for k in t.params} - set(space))
    axes = [parameter_axis(k, space.get(k), [t.params.get(k) for t in trials]) for k in keys]
    axes.append(_metric_axis(metric, mode, [t.value for t in trials]))
    scored = [t.value for t in trials if t.value is not None]
    best = None
    if scored:
        best = (min if mode == "min" else max)(scored)
    norm = Normalize(min(scored, default=0.0), max(scored, default=1.0))
    cmap = plt.get_cmap("viridis" if mode == "max" else "viridis_r")  # bright = better

    figure, ax = plt.subplots(figsize=(max(6.0, 2.4 * len(axes)), 4.6), dpi=100)
    try:
        xs = list(range(len(axes)))
        # Worst first, so the better lines are drawn over the worse ones; unscored lines at the back.
        order = sorted(range(len(trials)), key=lambda i: _rank(trials[i].value, mode))
        for i in order:
            trial, ys = trials[i], [axis.positions[i] for axis in axes]
            if trial.value is None:
                ax.plot(xs[:-1], ys[:-1], color=_UNSCORED, lw=1.2, ls="--", zorder=1)
                continue
            is_best = trial.value == best
            ax.plot(xs, ys, color=cmap(norm(trial.value)), lw=3.6 if is_best else 1.8, alpha=0.9, zorder=3)
            ax.plot(xs, ys, "o", color=cmap(norm(trial.value)), ms=4, zorder=3)
        for x, axis in zip(xs, axes, strict=True):
            _draw_axis(ax, x, axis)
        ax.set_xlim(-0.55, len(axes) - 0.75)
        ax.set_ylim(-0.1, 1.16)
        ax.axis("off")
        colorbar = figure.colorbar(ScalarMappable(norm=norm, cmap=cmap), ax=ax, pad=0.01, fraction=0.03)
        colorbar.set_label(f"{metric} ({'lower' if mode == 'min' else 'higher'} is better)")
        if mode == "min":
            colorbar.ax.invert_yaxis()  # the better end on top, as on the metric axis
        better = "lower" if mode == "min" else "higher"
        summary = f"{len(trials)} trials, {len(scored)} scored; {metric}: {better} is better, on top"
        if best is not None:
            summary += f"; best {best:.4g}"
        ax.set_title(f"{title}\n{summary}" if title else summary, fontsize=10)
        metadata = {AXES_KEY: json.dumps([axis.name for axis in axes]), LINES_KEY: str(len(trials))}
        path.parent.mkdir(parents=True, exist_ok=True)
        figure.savefig(path, bbox_inches="tight", metadata=metadata)
    finally:
        plt.close(figure)
    return path


def _rank(value: float | None, mode: str) -> float:
    if value is None:
        return -math.inf
    return -value if mode == "min" else value


def _draw_axis(ax: Any, x: float, axis: Axis) -> None:
    ax.plot([x, x], [0, 1], color="black", lw=1.0, zorder=2)
    for y, label in axis.ticks:
        ax.plot([x - 0.02, x], [y, y], color="black", lw=1.0, zorder=2)
        box = {"facecolor": "white", "edgecolor": "none", "alpha": 0.8, "pad": 0.5}
        ax.text(x - 0.04, y, label, ha="right", va="center", fontsize=8, zorder=4, bbox=box)
    name = axis.name + (" (log)" if axis.log else "")
    ax.text(x, 1.07, name, ha="center", va="bottom", fontsize=9, fontweight="bold")
