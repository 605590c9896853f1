"""ganforge's image recipes side by side with the PyTorch examples DCGAN (issue 15).

python benchmarks/image_vs_reference.py [--sets digits shapes] [--ganforge-config PATH ...]
    [--seeds 3] [--first-seed 0] [--minutes 10] [--width 32] [--set KEY=VALUE ...]
    [--also-truncation X ...] [--smoke] [--no-write]
    [--device cuda] [--workers 2] [--seeds-together] [--reference-fp32]

For each set and seed, two processes start together, one core each (OMP_NUM_THREADS=1, one torch
thread): ganforge's shipped config (ganforge_timed.py: the platform's training loop, in-process)
and the reference (reference_dcgan.py: the example's recipe as a plain script). Both read the data
through ganforge's data code (the same tensors: the reference reports their fingerprint and it
must match), get the same wall-clock budget and the same seed. Pairs run one after another.

Then this process scores both final generators with the same ruler: the set's metric model (the
classifier ganforge's own evaluation uses, platform/metrics), generated samples against real
half A, half B giving the real-vs-real floor (`feature_metrics`), plus the share of samples the
classifier puts in each class (min share / expected share, and how many classes reach a third of
their share). ganforge is scored with its EMA generator when the config has EMA on (the raw G is
scored too, one row more); the reference with its G as the example samples it (train-mode BatchNorm).
Where G has BatchNorm, each side is also drawn the other side's way (ganforge's EMA G with batch
statistics over batches of 64, the reference's G on its running statistics), two rows more: the
sampling mode alone moves recall by 0.1 or more on shapes, so the like-for-like verdict is printed too.
An 8x8 grid of the first 64 scored samples per side and seed goes to benchmarks/samples/.
The verdict under the table names any seed where a side failed (recall under 0.05, a collapse)
and repeats the verdict without those seeds: one failed seed can swing all three means.

On a GPU (`--device cuda`) both sides train there (ganforge with `--workers` data-parallel
workers, the reference as the example's `--cuda`); `--seeds-together` starts every seed's pair at
once (the GPU is shared by all of them, each side as loaded as the other), and the section's
title names the device.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
from pathlib import Path

import torch
from common import command_line, device_name, write_section
from reference_dcgan import BATCH_SIZE as REFERENCE_BATCH
from reference_dcgan import DEFAULT_WIDTH, NZ, Generator, outputs_in_train_mode, sample
from side_by_side import (
    LATENT_SEED,
    RUN_DATE,
    Entry,
    Row,
    check_fingerprint,
    floor_row,
    ganforge_command,
    ganforge_generators,
    ganforge_samples,
    means,
    precision_note,
    prepare_entry,
    real_floor,
    reference_args,
    run_pair,
    sample_name,
    score,
    seed_numbers,
    seeds_label,
    side_rows,
    table_head,
)

from ganforge.modalities.image.samples import write_grid
from ganforge.modalities.image.truncation import truncate_noise
from ganforge.platform.gan.batch import samples_of
from ganforge.platform.gan.ema import has_batch_norm
from ganforge.platform.modality.registry import get_modality

HERE = Path(__file__).resolve().parent
SETS = {"digits": "configs/image/digits_dcgan.yaml", "shapes": "configs/image/shapes_dcgan.yaml"}
GRID = 64
BATCH_STATS = "batch-statistics BatchNorm"
NO_TRUNCATION = "no truncation"
RUNNING_STATS = "running-statistics BatchNorm"
SMOKE = {"minutes": 0.3, "seeds": 1, "sets": ["digits"]}
KEYS = ("steps", "s_per_step", "fid", "kid", "precision", "recall", "min_share", "classes_third")
COLUMNS = (
    "G steps",
    "s/step",
    "FID",
    "KID x1e3",
    "precision",
    "recall",
    "min class share / expected",
    "classes >= 1/3",
)
PLACES = {"steps": 0, "s_per_step": 3, "fid": 2, "kid": 2, "classes_third": 1}


# ---- one pair: both sides at once, one core each -------------------------------------------------


def image_pair_commands(entry: Entry, seed: int, args: argparse.Namespace) -> dict[str, list[str]]:
    """ganforge's and the reference's command for one seed."""
    device = ["--device", args.device]
    reference = [
        sys.executable,
        str(HERE / "reference_dcgan.py"),
        *reference_args(entry, seed, args.minutes, not args.reference_fp32),
    ]
    return {
        "ganforge": [*ganforge_command(entry, seed, args.minutes), *device, "--workers", str(args.workers)],
        "reference": [*reference, *device, "--width", str(args.width)],
    }


def run_seeds(
    entry: Entry, seeds: list[int], args: argparse.Namespace, tmp: Path
) -> dict[int, dict[str, Path]]:
    """Starts the pairs of `seeds` together and waits for all; returns each seed's out folders."""
    commands = {
        f"{side}-seed{seed}": command
        for seed in seeds
        for side, command in image_pair_commands(entry, seed, args).items()
    }
    outs = run_pair(commands, seeds[0], args.minutes, tmp)
    return {seed: {side: outs[f"{side}-seed{seed}"] for side in ("ganforge", "reference")} for seed in seeds}


# ---- scoring ---------------------------------------------------------------------------------------


def reference_row(width: int) -> str:
    return f"reference DCGAN, width {width}"


def truncated_row(side: str, threshold: float) -> str:
    return f"{side}, truncation {threshold:g}"


def reference_generator(entry: Entry, out: Path, width: int) -> Generator:
    check_fingerprint(entry, json.loads((out / "run.json").read_text()))
    info = entry.data.info
    net = Generator(info["size"], info["channels"], width)
    net.load_state_dict(torch.load(out / "generator.pt", map_location="cpu", weights_only=True))
    return net


@torch.no_grad()
def running_statistics_samples(net: torch.nn.Module, z: torch.Tensor) -> torch.Tensor:
    """Samples with BatchNorm in eval mode: each on G's running statistics, alone."""
    net.eval()
    return torch.cat([samples_of(net(chunk)) for chunk in z.split(500)]).float()


@torch.no_grad()
def batch_statistics_samples(net: torch.nn.Module, z: torch.Tensor) -> torch.Tensor:
    """Samples the way the DCGAN example draws them (`reference_dcgan.outputs_in_train_mode`): each
    batch of 64 latents normalised by its own statistics; G is left in eval mode."""
    images = torch.cat([samples_of(out) for out in outputs_in_train_mode(net, z)]).float()
    net.eval()
    return images


def fakes_of_pair(
    entry: Entry, outs: dict[str, Path], seed: int, width: int, also_truncation: list[float]
) -> dict[str, torch.Tensor]:
    """Every row's samples (`also_truncation`: ganforge's G at these thresholds too, a row each).
    BatchNorm generators are drawn both ways (running statistics, as ganforge evaluates; batch
    statistics, as the example samples), so the two sides can be compared alike: the sampling mode
    alone moves recall by 0.1 or more on shapes."""
    n = len(entry.half_a)
    modality = get_modality(entry.job.modality)
    generators = ganforge_generators(entry, outs["ganforge"])
    fakes = {name: ganforge_samples(entry, net, n, LATENT_SEED + seed) for name, net in generators.items()}
    reference_name = reference_row(width)
    reference = reference_generator(entry, outs["reference"], width)
    fakes[reference_name] = sample(reference, n, LATENT_SEED + seed)
    if has_batch_norm(generators["ganforge"]):
        z = modality.output_latents(
            entry.job.model, entry.data.info, n, torch.Generator().manual_seed(LATENT_SEED + seed)
        )
        fakes[f"ganforge, {BATCH_STATS}"] = batch_statistics_samples(generators["ganforge"], z)
        z = torch.randn(n, NZ, 1, 1, generator=torch.Generator().manual_seed(LATENT_SEED + seed))
        fakes[f"{reference_name}, {RUNNING_STATS}"] = running_statistics_samples(reference, z)
    for other in also_truncation:  # the same G at other thresholds: choosing one from one run
        model = entry.job.model.model_copy(update={"truncation": other})
        fakes[truncated_row("ganforge", other)] = ganforge_samples(
            entry, generators["ganforge"], n, LATENT_SEED + seed, model
        )
    threshold = getattr(entry.job.model, "truncation", None)
    if threshold is not None:  # the trick's share of the result: ganforge without it, the example with it
        model = entry.job.model.model_copy(update={"truncation": None})
        fakes[f"ganforge, {NO_TRUNCATION}"] = ganforge_samples(
            entry, generators["ganforge"], n, LATENT_SEED + seed, model
        )
        z = torch.randn(n, NZ, 1, 1, generator=torch.Generator().manual_seed(LATENT_SEED + seed))
        z = truncate_noise(z, threshold, torch.Generator().manual_seed(LATENT_SEED + seed))
        fakes[truncated_row(reference_name, threshold)] = torch.cat(outputs_in_train_mode(reference, z))
    return fakes


def score_pair(entry: Entry, outs: dict[str, Path], seed: int, args: argparse.Namespace) -> None:
    runs = {side: json.loads((out / "run.json").read_text()) for side, out in outs.items()}
    width, samples_dir = args.width, args.samples_dir
    fakes = fakes_of_pair(entry, outs, seed, width, args.also_truncation)
    for name, x in fakes.items():
        result = score(entry, x, runs["reference" if name.startswith("reference") else "ganforge"])
        entry.rows.setdefault(name, []).append(result)
        print(f"  seed {seed} {name}: " + ", ".join(f"{k} {result[k]:.4g}" for k in KEYS), flush=True)
    grids = {"ganforge": fakes["ganforge"], f"reference-w{width}": fakes[reference_row(width)]}
    for side, x in grids.items():
        grid_name = sample_name(f"vs-reference_{entry.slug}_{side}", seed)
        path = write_grid(x[:GRID], samples_dir, 0, name=grid_name)
        print(f"  grid: {path}", flush=True)


# ---- the table -------------------------------------------------------------------------------------


def table(entry: Entry, first_seed: int) -> str:
    lines = [
        f"**{entry.label}** ({entry.job.data.dataset} {entry.job.data.size}x{entry.job.data.size}, "
        f"{len(entry.half_a)} samples vs real half A; metric model `{entry.scorer.metric_version}`)",
        "",
        *table_head(COLUMNS),
        *side_rows(entry.rows, KEYS, PLACES),
        floor_row("real half B (floor)", real_floor(entry), KEYS, PLACES),  # no steps: blank
    ]
    bar_name = next(k for k in entry.rows if k.startswith("reference"))
    text = "\n".join(lines) + "\n\n" + verdict(entry.rows["ganforge"], entry.rows[bar_name], first_seed)
    alike = f"ganforge, {BATCH_STATS}"
    if alike in entry.rows:  # both sides drawn with batch statistics, as the example draws
        alike_verdict = verdict(entry.rows[alike], entry.rows[bar_name], first_seed)
        text += f" Both drawn with {BATCH_STATS}: {alike_verdict}"
    threshold = getattr(entry.job.model, "truncation", None)
    if threshold is not None:  # the example given the same trick: is the win the trick's alone?
        both = verdict(entry.rows["ganforge"], entry.rows[truncated_row(bar_name, threshold)], first_seed)
        text += f" Both with truncation {threshold:g}: {both}"
    return text


FAILED_RECALL = 0.05  # a side whose samples are nowhere near the real set (the floor is 0.91)


def verdict(ours_rows: list[Row], bar_rows: list[Row], first_seed: int = 0) -> str:
    """The 3-seed verdict, and where one side failed in a seed (recall under FAILED_RECALL: a
    collapse), the verdict over the other seeds too: one failed seed can swing every mean."""
    text = verdict_on(ours_rows, bar_rows)
    failed: dict[int, list[str]] = {}
    for seed, pair in enumerate(zip(ours_rows, bar_rows, strict=True), start=first_seed):
        for side, row in zip(("ganforge", "the reference"), pair, strict=True):
            if row["recall"] < FAILED_RECALL:
                failed.setdefault(seed, []).append(side)
    kept = [i for i in range(len(ours_rows)) if i + first_seed not in failed]
    if not failed or not kept:
        return text
    where = "; ".join(f"seed {seed}: {' and '.join(sides)}" for seed, sides in failed.items())
    others = verdict_on([ours_rows[s] for s in kept], [bar_rows[s] for s in kept])
    return f"{text} Failed (recall under {FAILED_RECALL}): {where}. Over the other seeds, {others}"


def verdict_on(ours_rows: list[Row], bar_rows: list[Row]) -> str:
    ours, bar = means(ours_rows, KEYS), means(bar_rows, KEYS)
    wins = {"FID": ours["fid"] < bar["fid"], "precision": ours["precision"] > bar["precision"]}
    wins["recall"] = ours["recall"] > bar["recall"]
    better = ", ".join(f"{k} {'yes' if v else 'no'}" for k, v in wins.items())
    # The bar: better on all three 3-seed means, not on some of them.
    outcome = "beats" if all(wins.values()) else "does not beat"
    return f"ganforge {outcome} the reference on the mean (better on: {better})."


def body(entries: list[Entry], args: argparse.Namespace) -> str:
    seeds = seeds_label(args.first_seed, args.seeds)
    if args.device == "cpu":
        where = "one process and one torch thread each"
    else:
        where = (
            f"both on {device_name(args.device)} (ganforge with {args.workers} data-parallel worker(s) "
            "over torch.distributed, the reference as the example's --cuda), sharing the one GPU"
        )
    order = "all seeds' pairs at once" if args.seeds_together else "pairs run one after another"
    head = (
        f"Command: `{command_line()}` ({os.cpu_count()} CPU cores). Each pair: ganforge's config "
        f"(ganforge_timed.py, in-process loop) and the PyTorch examples DCGAN (reference_dcgan.py, width "
        f"{args.width}, batch 64, nz 100; width 32 by default on a CPU because one core per side: the "
        "published 64 costs 2x the time per step at 16x16 and 3.3x at 32x32) start together, "
        f"{where}, {args.minutes:g} min of wall clock each (data loading included), same seed; "
        f"{order}. Scored afterwards with the same metric model: mean ± sd over {seeds}. "
        "`ganforge`: its EMA generator where the config has EMA (`ganforge raw G`: the live G of the "
        "same run); reference: G sampled as the example does (train-mode BatchNorm, batches of 64). "
        f"Where G has BatchNorm, two more rows draw each side the other way: `{BATCH_STATS}` (train mode, "
        f"batches of {REFERENCE_BATCH}) and `{RUNNING_STATS}` (eval mode; ganforge's EMA G has its "
        "statistics recomputed over its own activations). "
        "Where the config sets `model.truncation` (the truncation trick, applied to what ganforge shows "
        f"and scores), two more rows: `ganforge, {NO_TRUNCATION}` (the same G on the full N(0, I)) and the "
        "example's G on latents truncated alike, with a verdict of each side truncated; "
        "`ganforge, truncation X`: the same G at another threshold (`--also-truncation X`). "
        "min class share: the rarest class under the metric classifier, as a fraction of its share "
        f"in a balanced set. Grids: `benchmarks/samples/vs-reference_*_{RUN_DATE}.png`."
        f"{precision_note(entries[0], not args.reference_fp32)}"
    )
    return head + "\n\n" + "\n\n".join(table(entry, args.first_seed) for entry in entries)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--sets", nargs="+", choices=sorted(SETS), default=list(SETS))
    parser.add_argument(
        "--ganforge-config", action="append", default=[], help="instead of --sets; repeatable"
    )
    parser.add_argument("--seeds", type=int, default=3)
    parser.add_argument("--first-seed", type=int, default=0, help="the seeds' first number")
    parser.add_argument("--minutes", type=float, default=10.0, help="wall clock per side and seed")
    parser.add_argument(
        "--width", type=int, default=DEFAULT_WIDTH, help="reference ngf = ndf (published: 64)"
    )
    parser.add_argument("--set", dest="overrides", action="append", default=[], help="ganforge KEY=VALUE")
    parser.add_argument(
        "--also-truncation",
        type=float,
        action="append",
        default=[],
        help="score ganforge's G at this truncation too, one row more; repeatable",
    )
    parser.add_argument("--samples-dir", type=Path, default=HERE / "samples")
    parser.add_argument("--smoke", action="store_true", help="0.3 min, 1 seed, digits; no RESULTS.md")
    parser.add_argument("--no-write", action="store_true")
    parser.add_argument("--device", default="cpu", help="where both sides train: cpu or cuda")
    parser.add_argument("--workers", type=int, default=1, help="ganforge's data-parallel workers")
    parser.add_argument("--seeds-together", action="store_true", help="all seeds' pairs at once (GPU)")
    parser.add_argument(
        "--reference-fp32",
        action="store_true",
        help="the example in fp32 as published even when ganforge's job sets gan.precision: bf16 "
        "(in bf16 it collapsed in 1 of 3 shapes seeds: benchmarks/RESULTS.md)",
    )
    args = parser.parse_args()
    if args.smoke:
        vars(args).update(SMOKE, no_write=True)
        if args.samples_dir == HERE / "samples":
            args.samples_dir = Path(tempfile.gettempdir()) / "ganforge-vs-reference-smoke"
    configs = args.ganforge_config or [SETS[name] for name in args.sets]
    entries = [prepare_entry(config, args.overrides) for config in configs]  # the ruler first, then the pairs
    every = list(seed_numbers(args.first_seed, args.seeds))
    batches = [every] if args.seeds_together else [[seed] for seed in every]
    for entry in entries:
        for seeds in batches:
            print(f"{entry.label}, seeds {seeds}: both sides for {args.minutes:g} min", flush=True)
            with tempfile.TemporaryDirectory(prefix="ganforge-vs-reference-") as tmp:
                for seed, outs in run_seeds(entry, seeds, args, Path(tmp)).items():
                    score_pair(entry, outs, seed, args)
    text = body(entries, args)
    print(text)
    if not args.no_write:
        title = " + ".join(entry.label for entry in entries)
        where = "" if args.device == "cpu" else f", on {device_name(args.device)}"
        write_section(f"Image vs the PyTorch DCGAN example: {title}{where} (issue 15)", text)


if __name__ == "__main__":
    main()
