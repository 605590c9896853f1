"""Metric calibration (issue 13): what FID, KID, precision/recall, IS ratio and quality read for
known inputs, so quality targets can be stated against them.

python benchmarks/metric_calibration.py [--only digits|shapes|audio ...] [--gen-steps-image 1500]
    [--gen-steps-audio 300] [--seeds 3] [--threads N] [--quick] [--no-write]

For image `digits`, image `shapes` and the audio spoken digits (the data sections of the shipped
configs), every row is scored against real half A with the platform's metrics: the floor (real
half B, disjoint and as large), half B under graded perturbations, a collapsed generator (one
real sample repeated), real data with class 0 removed, and one trained EMA generator scored by
metric models of seeds 0..S-1 (mean ± sd). Every other row uses the metric model of seed 0.
`--quick` shrinks data, metric models and training to a smoke test and does not write.
"""

from __future__ import annotations

import argparse
import logging
import math
import os
import statistics
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import torch
import torch.nn.functional as F
from common import command_line, load_untracked, write_section
from torch import nn
from torch.utils.data import Dataset

from ganforge.platform.config import JobConfig
from ganforge.platform.gan.batch import samples_of
from ganforge.platform.metrics import MetricModel, feature_metrics, real_halves, resolve_metric_model
from ganforge.platform.modality import Prepared, get_modality
from ganforge.platform.runners.checkpoint import evaluated_generator, load_state
from ganforge.platform.runners.local import run_local

Tensor = torch.Tensor
Perturbation = Callable[[Tensor], Tensor]

SETS = {  # name -> (shipped config, kind)
    "digits": ("configs/image/digits_dcgan.yaml", "image"),
    "shapes": ("configs/image/shapes_dcgan.yaml", "image"),
    "audio": ("configs/audio/wavegan_cpu.yaml", "audio"),
}
QUICK = {
    "image": {"data.eval.samples": 200, "data.eval.classifier_steps": 30, "data.n_samples": 1000},
    "audio": {"data.per_digit": 8, "data.eval.samples": 32},
}
QUICK_GEN_STEPS = 20
SPLIT_SEED = 0  # real halves, KID subsets, and the perturbations' noise
LATENT_SEED = 1
REMOVED_CLASS = 0
COLUMNS = ("fid", "fid/floor", "kid x1e3", "precision", "recall", "is_ratio", "quality")
KEYS = ("fid", "fid_ratio", "kid", "precision", "recall", "is_ratio", "quality")
DIGITS = {"fid": 2, "fid_ratio": 2, "kid": 2}  # decimals; the shares and ratios get 3


@dataclass(frozen=True)
class Reals:
    """The real set and the two disjoint halves every row is scored with (as index tensors)."""

    x: Tensor
    labels: Tensor
    a: Tensor
    b: Tensor

    @property
    def half_a(self) -> Tensor:
        return self.x[self.a]

    @property
    def half_b(self) -> Tensor:
        return self.x[self.b]


# ---- perturbations of real half B ----------------------------------------------------------------


def _noise_like(x: Tensor) -> Tensor:
    return torch.randn(x.shape, generator=torch.Generator().manual_seed(SPLIT_SEED))


def gaussian_blur(x: Tensor, sigma: float = 1.0) -> Tensor:
    """3x3 separable Gaussian blur of NCHW images, edges repeated."""
    taps = torch.exp(-(torch.arange(-1.0, 2.0) ** 2) / (2 * sigma**2))
    taps = taps / taps.sum()
    c = x.shape[1]
    padded = F.pad(x, (1, 1, 1, 1), mode="replicate")
    rows = F.conv2d(padded, taps.view(1, 1, 1, 3).expand(c, 1, 1, 3), groups=c)
    return F.conv2d(rows, taps.view(1, 1, 3, 1).expand(c, 1, 3, 1), groups=c)


def contrast(x: Tensor, factor: float) -> Tensor:
    mean = x.mean(dim=(1, 2, 3), keepdim=True)
    return ((x - mean) * factor + mean).clamp(-1, 1)


def image_perturbations() -> dict[str, Perturbation]:
    """Graded changes of NCHW images in [-1, 1], mildest first."""
    return {
        "shift 1 px": lambda x: torch.roll(x, 1, dims=-1),
        "noise σ 0.1": lambda x: (x + 0.1 * _noise_like(x)).clamp(-1, 1),
        "noise σ 0.3": lambda x: (x + 0.3 * _noise_like(x)).clamp(-1, 1),
        "blur 3x3 σ 1": gaussian_blur,
        "contrast x1.5": lambda x: contrast(x, 1.5),
        "binarise": lambda x: torch.where(x > 0, 1.0, -1.0),
    }


def speed(x: Tensor, factor: float) -> Tensor:
    """Plays (N, 1, T) clips `factor` times as fast: linear resampling to T / factor samples,
    then zero-padded (or cut) back to T."""
    length = x.shape[-1]
    stretched = F.interpolate(x, size=round(length / factor), mode="linear", align_corners=False)
    if stretched.shape[-1] >= length:
        return stretched[..., :length]
    return F.pad(stretched, (0, length - stretched.shape[-1]))


def white_noise(x: Tensor, snr_db: float) -> Tensor:
    power = x.pow(2).mean(dim=-1, keepdim=True)
    return x + _noise_like(x) * (power / 10 ** (snr_db / 10)).sqrt()


def audio_perturbations(sample_rate: int) -> dict[str, Perturbation]:
    """Graded changes of (N, 1, T) waveforms; gain is not clipped (peaks are 0.95 before)."""
    shift = round(0.010 * sample_rate)
    return {
        "gain +3 dB": lambda x: x * 10 ** (3 / 20),
        "gain -3 dB": lambda x: x * 10 ** (-3 / 20),
        f"shift 10 ms ({shift} samples)": lambda x: torch.roll(x, shift, dims=-1),
        "white noise 20 dB SNR": lambda x: white_noise(x, 20.0),
        "speed x1.05": lambda x: speed(x, 1.05),
        "speed x0.95": lambda x: speed(x, 0.95),
    }


# ---- reference "generators" ----------------------------------------------------------------------


def split_reals(dataset: Dataset, samples: int) -> Reals:
    """The labelled real set and the platform's halves (real_halves of the indices, seed 0)."""
    tensors = getattr(dataset, "tensors", ())
    if len(tensors) < 2:
        raise ValueError("calibration needs labelled data (x, labels)")
    x, labels = tensors[0], tensors[1]
    a, b = real_halves(torch.arange(len(x)), samples, seed=SPLIT_SEED)
    return Reals(x, labels, a, b)


def without_class(reals: Reals, label: int) -> Tensor:
    """Real samples outside half A with another label: as many as half A, or all there are."""
    outside = torch.ones(len(reals.x), dtype=torch.bool)
    outside[reals.a] = False
    pool = torch.nonzero(outside & (reals.labels != label)).flatten()
    order = torch.randperm(len(pool), generator=torch.Generator().manual_seed(SPLIT_SEED))
    return reals.x[pool[order[: len(reals.a)]]]


def reference_rows(reals: Reals, perturbations: dict[str, Perturbation]) -> dict[str, Tensor]:
    """Row name -> the samples scored as fakes, for every row that needs no training."""
    half_b = reals.half_b
    rows = {"floor (real half B)": half_b}
    rows |= {name: fn(half_b) for name, fn in perturbations.items()}
    rows["collapsed (1 sample x n)"] = half_b[:1].repeat(len(half_b), *[1] * (half_b.ndim - 1))
    removed = without_class(reals, REMOVED_CLASS)
    short = f", n = {len(removed)}" if len(removed) < len(reals.a) else ""
    rows[f"class {REMOVED_CLASS} removed{short}"] = removed
    return rows


# ---- metric models, the trained generator, scoring ------------------------------------------------


def metric_model(config: str, overrides: dict, data: Prepared, seed: int) -> MetricModel:
    """The metric model of `config`'s data trained with `seed` (local cache only)."""
    job = load_untracked(config, {**overrides, "data.eval.metric_seed": seed})
    recipe = get_modality(job.modality).metric_model(data, job.data)
    if recipe is None:
        raise ValueError(f"{config}: its modality has no metric model for this data")
    return resolve_metric_model(recipe, None)


def train_generator(job: JobConfig) -> nn.Module:
    """Trains `job` in-process; returns its final EMA generator (the plain one when EMA is off)."""
    with tempfile.TemporaryDirectory(prefix="ganforge-calibration-") as tmp:
        _, final = run_local(job, Path(tmp))
        state = load_state(final)
    return evaluated_generator(job, get_modality(job.modality).prepare(job.data), state)


def generate(job: JobConfig, generator: nn.Module, n: int) -> Tensor:
    modality = get_modality(job.modality)
    # Image and audio latents need no data facts (info {}); only sequence latents do.
    z = modality.sample_latents(job.model, {}, n, torch.Generator().manual_seed(LATENT_SEED))
    with torch.no_grad():
        return torch.cat([samples_of(generator(chunk)).float() for chunk in z.split(500)])


def score(scorer: MetricModel, fakes: Tensor, reals: Reals, knn: int) -> dict[str, float]:
    return feature_metrics(scorer.module, fakes, reals.half_a, reals.half_b, knn, seed=SPLIT_SEED)  # type: ignore[arg-type]


# ---- the table -----------------------------------------------------------------------------------


def _cell(key: str, values: list[float]) -> str:
    places = DIGITS.get(key, 3)
    if len(values) == 1:
        return f"{values[0]:.{places}f}"
    return f"{statistics.mean(values):.{places}f} ± {statistics.stdev(values):.{places}f}"


def table_row(name: str, runs: list[dict[str, float]]) -> str:
    cells = [_cell(key, [run[key] for run in runs]) for key in KEYS]
    return f"| {name} | " + " | ".join(cells) + " |"


def table(rows: list[str]) -> str:
    head = "| generator | " + " | ".join(COLUMNS) + " |"
    return "\n".join([head, "|" + "---|" * (len(COLUMNS) + 1), *rows])


# ---- one data set --------------------------------------------------------------------------------


def _tick(label: str, start: float) -> float:
    now = time.perf_counter()
    print(f"  {label}: {now - start:.0f} s", flush=True)
    return now


def calibrate(name: str, overrides: dict, gen_steps: int, seeds: int) -> str:
    """Scores every row of one data set; returns the RESULTS.md body."""
    config, kind = SETS[name]
    job = load_untracked(config, overrides)
    modality = get_modality(job.modality)
    print(f"{name}: {config}", flush=True)
    start = time.perf_counter()
    data = modality.prepare(job.data)
    reals = split_reals(data.dataset, job.data.eval.samples)
    start = _tick(f"data ({len(reals.x)} samples, halves of {len(reals.a)})", start)
    scorers = [metric_model(config, overrides, data, seed) for seed in range(seeds)]
    start = _tick(f"{seeds} metric model(s)", start)
    perturbations = image_perturbations() if kind == "image" else audio_perturbations(job.data.sample_rate)
    knn = job.data.eval.knn
    references = reference_rows(reals, perturbations)
    rows = [table_row(row, [score(scorers[0], fakes, reals, knn)]) for row, fakes in references.items()]
    start = _tick(f"{len(rows)} reference rows", start)
    train_overrides = {
        "train.steps": gen_steps,
        "train.checkpoint_every": gen_steps,
        "train.eval_every": 0,
        "train.sample_every": 0,
    }
    generator = train_generator(load_untracked(config, {**overrides, **train_overrides}))
    start = _tick(f"generator, {gen_steps} G steps", start)
    fakes = generate(job, generator, len(reals.a))
    runs = [score(scorer, fakes, reals, knn) for scorer in scorers]
    rows.append(table_row(f"generator, {gen_steps} G steps, metric seeds 0..{seeds - 1}", runs))
    floors = [score(scorer, reals.half_b, reals, knn) for scorer in scorers]
    rows.append(table_row(f"floor, metric seeds 0..{seeds - 1}", floors))
    _tick("generator rows", start)
    return describe(name, job, reals, scorers, gen_steps) + "\n\n" + table(rows)


def describe(name: str, job: JobConfig, reals: Reals, scorers: list[MetricModel], gen_steps: int) -> str:
    config, kind = SETS[name]
    accuracy = ", ".join(f"{s.report.get('classifier_accuracy', math.nan):.3f}" for s in scorers)
    seeds = f"metric seeds 0..{len(scorers) - 1}"
    unit = "images" if kind == "image" else "clips"
    return (
        f"Command: `{command_line()}` ({os.cpu_count()} CPU cores, {torch.get_num_threads()} torch "
        f"thread(s)). Data: the data section of `{config}` ({len(reals.x)} {unit}). Metric version "
        f"`{scorers[0].metric_version}`, classifier accuracy {accuracy} ({seeds}).\n\n"
        f"Every row is scored against real half A ({len(reals.a)} {unit}) with `feature_metrics` "
        f"(knn {job.data.eval.knn}). `floor`: the disjoint real half B as the fakes (fid/floor 1 by "
        "definition). The perturbation rows: half B changed as named (noise seeded). `collapsed`: the "
        f"first {unit[:-1]} of half B repeated as often. `class {REMOVED_CLASS} removed`: real {unit} "
        f"outside half A whose class is not {REMOVED_CLASS} (n says how many when fewer than half A). "
        f"These rows use the metric model of seed 0. `generator`: the EMA generator of `{config}` "
        f"after {gen_steps} G steps, {len(reals.a)} samples (latent seed {LATENT_SEED}), scored by the "
        "metric models of every seed, mean ± sd (fid/floor divides by each seed's own floor); the last "
        "row is the real-vs-real floor of those metric models."
    )


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--only", choices=sorted(SETS), action="append", help="repeatable")
    parser.add_argument("--gen-steps-image", type=int, default=1500)
    parser.add_argument("--gen-steps-audio", type=int, default=300)
    parser.add_argument("--seeds", type=int, default=3, help="metric-model seeds of the generator rows")
    parser.add_argument("--threads", type=int, default=None, help="torch threads (default: torch's)")
    parser.add_argument("--quick", action="store_true", help="toy sizes, a smoke test; implies --no-write")
    parser.add_argument("--no-write", action="store_true")
    args = parser.parse_args()
    if args.seeds < 1:
        parser.error("--seeds: expected at least 1")
    logging.basicConfig(level=logging.WARNING, format="%(asctime)s %(name)s: %(message)s")
    if args.threads:
        torch.set_num_threads(args.threads)
    # A fresh home (data sets and metric models built anew, removed afterwards) unless one is set.
    with tempfile.TemporaryDirectory(prefix="ganforge-calibration-") as home:
        os.environ.setdefault("GANFORGE_HOME", home)
        for name in args.only or SETS:
            run_set(name, args)


def run_set(name: str, args: argparse.Namespace) -> None:
    kind = SETS[name][1]
    gen_steps = args.gen_steps_image if kind == "image" else args.gen_steps_audio
    overrides = QUICK[kind] if args.quick else {}
    start = time.perf_counter()
    body = calibrate(name, overrides, QUICK_GEN_STEPS if args.quick else gen_steps, args.seeds)
    print(body, f"{name}: {(time.perf_counter() - start) / 60:.1f} min", sep="\n", flush=True)
    if not (args.quick or args.no_write):
        write_section(f"Metric calibration: {name} (issue 13)", body)


if __name__ == "__main__":
    main()
