"""What the sweep's parent run shows a person: the parallel-coordinates picture, the best trial's
samples and the ranked table of trials, on its Overview (its description, markdown) and as artifacts.

The parent's artifacts:
    parallel_coordinates.png   every trial's sampled values against the ranking metric
    summary.html               the ranked table (the artifact viewer renders HTML)
    summary.json               the same table as an MLflow table (written by summary.py)
    best_trial/                the best trial's samples: its version card picture (model_card/),
                               its newest image per key (images/) and newest sample files (samples/)
"""

from __future__ import annotations

import html
import logging
import math
import re
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from mlflow.tracking import MlflowClient
from PIL import Image

from ganforge.pipelines.sweep.config import LoadedSweep
from ganforge.pipelines.sweep.coordinates import draw_parallel_coordinates
from ganforge.pipelines.sweep.outcome import TrialSummary
from ganforge.platform.storage import retry
from ganforge.platform.tracking.version_card import CARD_FOLDER, artifact_url, run_url

log = logging.getLogger("ganforge.sweep")

PLOT = "parallel_coordinates.png"
TABLE_HTML = "summary.html"
BEST_FOLDER = "best_trial"
NOTE_TAG = "mlflow.note.content"  # the run's description, rendered as markdown on its Overview
NOTE_ROWS = 15  # trials listed in the description; summary.html lists them all
NOTE_MAX_CHARS = 7500  # MLflow's stores keep up to 8000 characters of a tag's value
# MLflow's image files: images/<key with / as ~>+step+<step>+timestamp+<ms>+<uuid>.png
_IMAGE_FILE = re.compile(r"^(?P<key>.+)\+step\+(?P<step>\d+)\+timestamp\+(?P<ms>\d+)\+[^+]+\.png$")
_STEP_FOLDER = re.compile(r"^samples/step_(\d+)$")

__all__ = ["BEST_FOLDER", "PLOT", "TABLE_HTML", "SweepReport", "log_report"]


@dataclass(frozen=True)
class SweepReport:
    """The sweep as the parent run presents it."""

    loaded: LoadedSweep
    name: str
    trials: Sequence[TrialSummary]
    best: TrialSummary | None
    model_name: str | None = None
    model_version: str | None = None

    def ranked(self) -> list[TrialSummary]:
        """Best first; trials without a value last, in their own order."""
        sign = 1 if self.loaded.sweep.mode == "min" else -1
        return sorted(self.trials, key=lambda t: (t.value is None, sign * (t.value or 0.0)))

    def keys(self) -> list[str]:
        space = list(self.loaded.sweep.space)
        return space + sorted({k for t in self.trials for k in t.params} - set(space))

    def rows(self, experiment_id: str | None = None) -> tuple[list[str], list[list[str]]]:
        """The table's header and rows (cells as text; trial ids link to their runs when given
        the experiment)."""
        metric = self.loaded.sweep.metric
        header = ["#", "trial", *self.keys(), metric, "step", "outcome"]
        rows = []
        for rank, trial in enumerate(self.ranked(), start=1):
            cells = [_format(trial.params.get(k)) for k in self.keys()]
            who = trial.trial_id
            if experiment_id and trial.run_id:
                who = f"[{who}]({run_url(experiment_id, trial.run_id)})"
            rows.append([str(rank), who, *cells, _format(trial.value), str(trial.step), trial.outcome])
        return header, rows

    def headline(self) -> str:
        sweep = self.loaded.sweep
        better = "lower" if sweep.mode == "min" else "higher"
        text = (
            f"**Sweep `{self.name}`**: {len(self.trials)} trials of job `{self.loaded.job.name}` "
            f"({self.loaded.job.modality}), searching {', '.join(f'`{k}`' for k in sweep.space)}, "
            f"ranked by `{sweep.metric}` ({better} is better)."
        )
        if self.best is None:
            return text + " No trial was scored: none is registered."
        text += f" Best: trial `{self.best.trial_id}`, {sweep.metric} = {_format(self.best.value)}"
        if self.model_name and self.model_version:
            text += f", registered as `{self.model_name}` version {self.model_version}"
        return text + "."


def _format(value: Any) -> str:
    if value is None:
        return "—"
    if isinstance(value, float):
        return f"{value:.4g}" if math.isfinite(value) else str(value)
    return str(value)


def _markdown_table(header: list[str], rows: list[list[str]]) -> str:
    def line(cells: list[str]) -> str:
        return "| " + " | ".join(c.replace("|", "\\|").replace("\n", " ") for c in cells) + " |"

    return "\n".join([line(header), "|" + "---|" * len(header), *(line(r) for r in rows)])


def summary_html(report: SweepReport) -> str:
    """The whole ranked table as a standalone HTML page."""
    header, rows = report.rows()
    head = "".join(f"<th>{html.escape(h)}</th>" for h in header)
    body = "".join(
        "<tr" + (' class="best"' if i == 0 and report.best else "") + ">"
        + "".join(f"<td>{html.escape(c)}</td>" for c in row) + "</tr>"
        for i, row in enumerate(rows)
    )  # fmt: skip
    style = (
        "body{font-family:sans-serif;font-size:14px;margin:16px}"
        "table{border-collapse:collapse}th,td{border:1px solid #ccc;padding:4px 8px;text-align:left}"
        "th{background:#f3f3f3}tr.best td{background:#fff6cc;font-weight:bold}"
    )
    headline = html.escape(report.headline().replace("**", "").replace("`", ""))
    return (
        f"<!doctype html><html><head><meta charset='utf-8'><title>{html.escape(report.name)}</title>"
        f"<style>{style}</style></head><body><p>{headline}</p>"
        f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table></body></html>\n"
    )


def description(report: SweepReport, run_id: str, experiment_id: str, best_image: str | None) -> str:
    """The parent run's description: headline, the picture, the best trial's samples, the table."""
    parts = [report.headline(), f"![parallel coordinates]({artifact_url(run_id, PLOT)})"]
    if best_image is not None:
        parts.append(f"The best trial's samples:\n\n![best trial]({artifact_url(run_id, best_image)})")
    header, rows = report.rows(experiment_id)
    parts.append(_markdown_table(header, rows[:NOTE_ROWS]))
    if len(rows) > NOTE_ROWS:
        parts.append(f"… and {len(rows) - NOTE_ROWS} more trials in `{TABLE_HTML}`.")
    text = "\n\n".join(parts) + "\n"
    return text if len(text) <= NOTE_MAX_CHARS else text[: NOTE_MAX_CHARS - 4] + " ...\n"


def _newest_images(client: MlflowClient, run_id: str) -> dict[str, str]:
    """key -> artifact path of the key's image at its highest step (the `latest/` copies left out)."""
    newest: dict[str, tuple[int, int, str]] = {}
    for item in client.list_artifacts(run_id, "images"):
        found = _IMAGE_FILE.match(Path(item.path).name)
        if found is None or found["key"].startswith("latest~"):
            continue
        rank = (int(found["step"]), int(found["ms"]), item.path)
        newest[found["key"]] = max(newest.get(found["key"], rank), rank)
    return {key: path for key, (_, _, path) in sorted(newest.items())}


def copy_best_samples(client: MlflowClient, best_run_id: str, parent_id: str) -> str | None:
    """Copies the best trial's samples into the parent under BEST_FOLDER; returns the artifact path
    (in the parent) of its main picture, or None when it drew none."""
    pictures: list[str] = []
    with tempfile.TemporaryDirectory(prefix="ganforge-best-") as tmp:
        local = Path(tmp)
        if client.list_artifacts(best_run_id, CARD_FOLDER):  # the registered version's picture
            client.download_artifacts(best_run_id, CARD_FOLDER, str(local))
            client.log_artifacts(parent_id, str(local / CARD_FOLDER), f"{BEST_FOLDER}/{CARD_FOLDER}")
            card = sorted((local / CARD_FOLDER).glob("*.png"))
            pictures += [f"{BEST_FOLDER}/{CARD_FOLDER}/{p.name}" for p in card]
        for key, path in _newest_images(client, best_run_id).items():
            downloaded = Path(client.download_artifacts(best_run_id, path, str(local)))
            # Named by its key, not by MLflow's key+step+timestamp+uuid file name.
            named = downloaded.rename(local / f"{key.replace('~', '_')}.png")
            client.log_artifact(parent_id, str(named), f"{BEST_FOLDER}/images")
            pictures.append(f"{BEST_FOLDER}/images/{named.name}")
        steps = [item.path for item in client.list_artifacts(best_run_id, "samples") if item.is_dir]
        newest = max(steps, key=lambda p: int(m[1]) if (m := _STEP_FOLDER.match(p)) else -1, default=None)
        if newest is not None:
            client.download_artifacts(best_run_id, newest, str(local))
            client.log_artifacts(parent_id, str(local / newest), f"{BEST_FOLDER}/{newest}")
    return pictures[0] if pictures else None


def log_report(report: SweepReport, sweep_runs: dict[str, str]) -> None:
    """Puts the picture, the best trial's samples and the table on the parent run, and writes its
    description. A failure here is logged on one line: the sweep's results stand without it."""
    client = MlflowClient(tracking_uri=sweep_runs["uri"])
    parent, experiment_id = sweep_runs["parent_run_id"], sweep_runs["experiment_id"]
    sweep = report.loaded.sweep
    try:
        with tempfile.TemporaryDirectory(prefix="ganforge-report-") as tmp:
            plot = draw_parallel_coordinates(
                report.trials, sweep.space, sweep.metric, sweep.mode, Path(tmp) / PLOT, title=report.name
            )
            retry(lambda: client.log_artifact(parent, str(plot)), "log the sweep's parallel coordinates")
            with Image.open(plot) as image:  # also a card in the parent's charts
                rgb = image.convert("RGB")
            card = "sweep/parallel_coordinates"
            retry(lambda: client.log_image(parent, rgb, key=card, step=0), "log the picture as an image")
        retry(lambda: client.log_text(parent, summary_html(report), TABLE_HTML), "log the sweep's table")
        best_image = None
        if report.best is not None and report.best.run_id is not None:
            best_run = report.best.run_id
            best_image = retry(lambda: copy_best_samples(client, best_run, parent), "copy the best samples")
        note = description(report, parent, experiment_id, best_image)
        retry(lambda: client.set_tag(parent, NOTE_TAG, note), "describe the sweep's run")
    except Exception as error:  # noqa: BLE001 - the trials and the registered best stand without it
        what = f"{type(error).__name__}: {error}"
        log.warning("the sweep's summary on run %s is incomplete: %s", parent, what)
