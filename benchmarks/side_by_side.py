"""What the side-by-side harnesses share (image_vs_reference.py, audio_vs_reference.py).

A shipped config with its data, its ruler (the metric model) and the real halves; one pair of
processes (ganforge_timed.py and a reference script) started together, one core each; ganforge's
generators and their samples; the scores both sides get; and the cells and rows of the
mean ± sd tables.
"""

from __future__ import annotations

import argparse
import datetime
import os
import statistics
import subprocess
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch
from common import load_untracked

from ganforge.platform.config import JobConfig, parse_override
from ganforge.platform.gan.batch import samples_of
from ganforge.platform.home import ganforge_home
from ganforge.platform.metrics import MetricModel, feature_metrics, real_halves
from ganforge.platform.metrics.jobs import job_metric_model
from ganforge.platform.modality import Prepared, get_modality
from ganforge.platform.runners.checkpoint import evaluated_generator

HERE = Path(__file__).resolve().parent
SPLIT_SEED = 0  # the real halves and KID subsets: one ruler for every run
LATENT_SEED = 1  # + the run's seed: the latents of the scored samples
RUN_DATE = datetime.date.today().isoformat()

Row = dict[str, float]


@dataclass
class Entry:
    """One set: a ganforge config (with overrides), its data, the ruler and the real halves."""

    config: str
    overrides: dict[str, Any]
    job: JobConfig
    data: Prepared
    scorer: MetricModel
    half_a: torch.Tensor
    half_b: torch.Tensor
    set_args: list[str]
    """The overrides as given on the command line (`--set KEY=VALUE`), passed on to both sides."""
    rows: dict[str, list[Row]] = field(default_factory=dict)

    @property
    def label(self) -> str:
        extra = ",".join(f"{k}={v}" for k, v in self.overrides.items())
        return Path(self.config).stem + (f" [{extra}]" if extra else "")

    @property
    def slug(self) -> str:
        return "".join(c if c.isalnum() or c in "-_." else "-" for c in self.label.replace(" ", ""))


def prepare_entry(config: str, set_args: list[str], modality: str | None = None) -> Entry:
    """Data, metric model (trained into the local cache on first use) and halves, before any pair.
    `modality`: the one the harness is written for; another is refused before any work."""
    overrides = dict(parse_override(item) for item in set_args)
    job = load_untracked(config, overrides)
    if modality is not None and job.modality != modality:
        raise ValueError(f"{config}: expected a {modality} job, got {job.modality}")
    data = get_modality(job.modality).prepare(job.data)
    scorer = job_metric_model(job, data, None)
    if scorer is None:
        raise ValueError(f"{config}: expected {job.modality} data with a metric model")
    x = data.dataset.tensors[0]  # type: ignore[attr-defined]
    half_a, half_b = real_halves(x, job.data.eval.samples, SPLIT_SEED)
    return Entry(config, overrides, job, data, scorer, half_a, half_b, set_args)


def harness_parser(
    description: str, config: str, config_help: str, seeds: int, smoke_help: str
) -> argparse.ArgumentParser:
    """The options every single-config side-by-side harness takes (audio, timeseries)."""
    parser = argparse.ArgumentParser(
        description=description, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--config", default=config, help=config_help)
    parser.add_argument("--seeds", type=int, default=seeds)
    parser.add_argument("--first-seed", type=int, default=0, help="the seeds' first number")
    parser.add_argument("--minutes", type=float, default=10.0, help="wall clock per side and seed")
    parser.add_argument("--set", dest="overrides", action="append", default=[], help="ganforge KEY=VALUE")
    parser.add_argument("--samples-dir", type=Path, default=HERE / "samples")
    parser.add_argument("--smoke", action="store_true", help=smoke_help)
    parser.add_argument("--no-write", action="store_true")
    return parser


def seed_numbers(first: int, count: int) -> range:
    """The seeds a harness runs: `count` of them from `first` (`--first-seed`, `--seeds`), so a
    later session can add seeds 3..5 to a section's 0..2 without rerunning them."""
    return range(first, first + count)


def seeds_label(first: int, count: int) -> str:
    """How a section names its seeds: 'seed 4', 'seeds 0..2'."""
    return f"seeds {first}..{first + count - 1}" if count > 1 else f"seed {first}"


def sample_name(stem: str, seed: int, suffix: str = ".png") -> str:
    """A sample file's name: `stem`, the seed and the day of the run. A rerun on another day
    writes new files and leaves in place the ones an earlier RESULTS section describes."""
    return f"{stem}_seed{seed}_{RUN_DATE}{suffix}"


# ---- one pair: both sides at once, one core each -------------------------------------------------


def side_args(entry: Entry, seed: int, minutes: float) -> list[str]:
    """What both sides are told: the config, seed, budget, one torch thread and the overrides."""
    common_args = ["--config", entry.config, "--seed", str(seed), "--minutes", str(minutes), "--threads", "1"]
    return common_args + [arg for item in entry.set_args for arg in ("--set", item)]


def reference_args(entry: Entry, seed: int, minutes: float, match_bf16: bool = True) -> list[str]:
    """The reference's share of `side_args`, plus `--bf16` when the job trains in bf16 (unless
    `match_bf16` is off: the reference then runs fp32, as published), so both sides get the
    CPU's (or GPU's) bf16 units alike."""
    bf16 = ["--bf16"] if match_bf16 and entry.job.gan.precision == "bf16" else []
    return side_args(entry, seed, minutes) + bf16


def precision_note(entry: Entry, match_bf16: bool = True) -> str:
    """The sentence a table's head adds when ganforge trained in bf16 (see `reference_args`)."""
    if entry.job.gan.precision != "bf16":
        return ""
    if not match_bf16:
        return " ganforge in bf16 (`gan.precision: bf16`), the reference in fp32 as published."
    return (
        " Both sides in bf16: ganforge's job sets `gan.precision: bf16` and the reference runs with "
        "`--bf16` (its forward passes and losses under the same autocast; weights and optimizer states fp32)."
    )


def ganforge_command(entry: Entry, seed: int, minutes: float) -> list[str]:
    """ganforge's side: the shipped config through the platform's loop (ganforge_timed.py)."""
    return [sys.executable, str(HERE / "ganforge_timed.py"), *side_args(entry, seed, minutes)]


def run_pair(commands: dict[str, list[str]], seed: int, minutes: float, tmp: Path) -> dict[str, Path]:
    """Starts every side's command (each given `--out tmp/<side>`) together, one core each, and
    waits for all; returns their out folders. A side that fails shows the end of its log."""
    env = {
        **os.environ,
        "OMP_NUM_THREADS": "1",
        "MKL_NUM_THREADS": "1",
        "GANFORGE_HOME": str(ganforge_home()),
    }
    procs, logs = {}, {}
    for side, command in commands.items():
        logs[side] = (tmp / f"{side}.log").open("w")
        procs[side] = subprocess.Popen(
            [*command, "--out", str(tmp / side)], env=env, stdout=logs[side], stderr=subprocess.STDOUT
        )
    deadline = time.monotonic() + minutes * 60 * 2 + 300  # start-up and a slow last step, room to spare
    failed = []
    for side, proc in procs.items():
        try:
            code = proc.wait(timeout=max(deadline - time.monotonic(), 1))
        except subprocess.TimeoutExpired:
            proc.kill()
            code = proc.wait()
        logs[side].close()
        if code != 0:
            failed.append(side)
    for side in failed:
        print(
            f"--- {side} failed; the end of its log:\n" + (tmp / f"{side}.log").read_text()[-3000:],
            flush=True,
        )
    if failed:
        raise RuntimeError(f"seed {seed}: {', '.join(failed)} failed")
    return {side: tmp / side for side in commands}


# ---- ganforge's generators, and what the reference trained on ---------------------------------------


def ganforge_generators(entry: Entry, out: Path) -> dict[str, torch.nn.Module]:
    """`ganforge`: the evaluation generator (EMA when on, as the platform evaluates); `ganforge raw G`."""
    states = torch.load(out / "generators.pt", map_location="cpu", weights_only=False)
    nets = {"ganforge": evaluated_generator(entry.job, entry.data, states)}
    if entry.job.gan.ema.enabled:
        nets["ganforge raw G"] = evaluated_generator(entry.job, entry.data, states, key="generator")
    return nets


@torch.no_grad()
def ganforge_samples(
    entry: Entry, net: torch.nn.Module, n: int, seed: int, model: Any | None = None
) -> torch.Tensor:
    """`n` samples of `net` drawn as the modality draws what it shows (`output_latents`) under the
    job's model section, or under `model` (the job's with one setting changed, e.g. truncation)."""
    modality = get_modality(entry.job.modality)
    model = entry.job.model if model is None else model
    z = modality.output_latents(model, entry.data.info, n, torch.Generator().manual_seed(seed))
    return torch.cat([samples_of(net(chunk)).float() for chunk in z.split(500)])


def check_fingerprint(entry: Entry, run: dict[str, Any]) -> None:
    """A reference run must have trained on the very tensors ganforge trains on."""
    if run["fingerprint"] != entry.data.fingerprint:
        raise RuntimeError(
            f"the reference trained on other data ({run['fingerprint']} != {entry.data.fingerprint})"
        )


# ---- scoring -----------------------------------------------------------------------------------------


def class_probs(entry: Entry, x: torch.Tensor) -> np.ndarray:
    """Class probabilities of samples `x` under the metric model (the ruler's classifier)."""
    _, probs = entry.scorer.module.embed(x)  # type: ignore[attr-defined]
    return probs


def class_shares(probs: np.ndarray) -> Row:
    """min class share / expected share, and how many classes get at least a third of theirs."""
    k = probs.shape[1]
    shares = np.bincount(probs.argmax(1), minlength=k) / len(probs)
    return {"min_share": float(shares.min() * k), "classes_third": float((shares * k >= 1 / 3).sum())}


def score(entry: Entry, fakes: torch.Tensor, run: dict[str, Any], probs: np.ndarray | None = None) -> Row:
    """The feature-space metrics of `fakes` against real half A, their class shares and the run's
    pace (`probs`: the fakes' class probabilities, when the caller has them already)."""
    knn = entry.job.data.eval.knn
    metrics = feature_metrics(entry.scorer.module, fakes, entry.half_a, entry.half_b, knn, SPLIT_SEED)  # type: ignore[arg-type]
    steps = run["steps"]
    return {
        **metrics,
        **class_shares(class_probs(entry, fakes) if probs is None else probs),
        "steps": steps,
        "s_per_step": run["seconds"] / max(steps, 1),
    }


def real_floor(entry: Entry) -> Row:
    """What real half B scores against half A (same count as the fakes): the floor of each column."""
    floor = feature_metrics(
        entry.scorer.module, entry.half_b, entry.half_a, entry.half_b, entry.job.data.eval.knn, SPLIT_SEED
    )  # type: ignore[arg-type]
    return {**floor, **class_shares(class_probs(entry, entry.half_b))}


# ---- tables --------------------------------------------------------------------------------------------


def cell(values: list[float], places: int) -> str:
    """One value, or mean ± sd of several."""
    if len(values) == 1:
        return f"{values[0]:.{places}f}"
    return f"{statistics.mean(values):.{places}f} ± {statistics.stdev(values):.{places}f}"


def table_head(columns: Sequence[str], first: str = "side") -> list[str]:
    return ["| " + " | ".join([first, *columns]) + " |", "|" + "---|" * (len(columns) + 1)]


def table_row(name: str, cells: Sequence[str]) -> str:
    """A markdown row; an empty cell is one space wide."""
    return "|" + "|".join(f" {c} " if c else " " for c in [name, *cells]) + "|"


def side_rows(rows: dict[str, list[Row]], keys: Sequence[str], places: dict[str, int]) -> list[str]:
    """One row per side: mean ± sd over its runs of every key."""
    return [
        table_row(name, [cell([r[k] for r in runs], places.get(k, 3)) for k in keys])
        for name, runs in rows.items()
    ]


def floor_row(name: str, values: Row, keys: Sequence[str], places: dict[str, int]) -> str:
    """A row of single values (the real floor); keys it has no value for stay empty."""
    return table_row(name, [cell([values[k]], places.get(k, 3)) if k in values else "" for k in keys])


def means(runs: list[Row], keys: Sequence[str]) -> Row:
    return {k: statistics.mean(r[k] for r in runs) for k in keys}
