"""ganforge's image recipes side by side with the PyTorch examples DCGAN (issue 15).

python benchmarks/image_vs_reference.py [--sets digits shapes] [--ganforge-config PATH ...]
    [--seeds 3] [--minutes 10] [--width 32] [--set KEY=VALUE ...] [--smoke] [--no-write]

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
An 8x8 grid of the first 64 scored samples per side and seed goes to benchmarks/samples/.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch
from common import command_line, load_untracked, write_section
from reference_dcgan import DEFAULT_WIDTH, Generator, sample

from ganforge.modalities.image.samples import write_grid
from ganforge.platform.config import JobConfig, parse_override
from ganforge.platform.gan.batch import samples_of
from ganforge.platform.home import ganforge_home
from ganforge.platform.metrics import MetricModel, feature_metrics, real_halves
from ganforge.platform.metrics.jobs import job_metric_model
from ganforge.platform.modality import Prepared, get_modality

HERE = Path(__file__).resolve().parent
SETS = {"digits": "configs/image/digits_dcgan.yaml", "shapes": "configs/image/shapes_dcgan.yaml"}
SPLIT_SEED = 0  # the real halves and KID subsets: one ruler for every run
LATENT_SEED = 1  # + the run's seed: the latents of the scored samples
GRID = 64
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
    rows: dict[str, list[dict[str, float]]] = field(default_factory=dict)

    @property
    def label(self) -> str:
        extra = ",".join(f"{k}={v}" for k, v in self.overrides.items())
        return Path(self.config).stem + (f" [{extra}]" if extra else "")

    @property
    def slug(self) -> str:
        return "".join(c if c.isalnum() or c in "-_." else "-" for c in self.label.replace(" ", ""))


def prepare_entry(config: str, set_args: list[str]) -> Entry:
    """Data, metric model (trained into the local cache on first use) and halves, before any pair."""
    overrides = dict(parse_override(item) for item in set_args)
    job = load_untracked(config, overrides)
    data = get_modality(job.modality).prepare(job.data)
    scorer = job_metric_model(job, data, None)
    if scorer is None:
        raise ValueError(f"{config}: expected image data with a metric model")
    x = data.dataset.tensors[0]  # type: ignore[attr-defined]
    half_a, half_b = real_halves(x, job.data.eval.samples, SPLIT_SEED)
    return Entry(config, overrides, job, data, scorer, half_a, half_b, set_args)


# ---- one pair: both sides at once, one core each -------------------------------------------------


def run_pair(entry: Entry, seed: int, minutes: float, width: int, tmp: Path) -> dict[str, Path]:
    """Starts ganforge and the reference together and waits for both; returns their out folders."""
    env = {
        **os.environ,
        "OMP_NUM_THREADS": "1",
        "MKL_NUM_THREADS": "1",
        "GANFORGE_HOME": str(ganforge_home()),
    }
    common_args = ["--config", entry.config, "--seed", str(seed), "--minutes", str(minutes), "--threads", "1"]
    sets = [arg for item in entry.set_args for arg in ("--set", item)]
    commands = {
        "ganforge": [sys.executable, str(HERE / "ganforge_timed.py"), *common_args, *sets],
        "reference": [
            sys.executable,
            str(HERE / "reference_dcgan.py"),
            *common_args,
            *sets,
            "--width",
            str(width),
        ],
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


# ---- scoring ---------------------------------------------------------------------------------------


def ganforge_generators(entry: Entry, out: Path) -> dict[str, torch.nn.Module]:
    """`ganforge`: the evaluation generator (EMA when on, as the platform evaluates); `ganforge raw G`."""
    modality = get_modality(entry.job.modality)
    states = torch.load(out / "generators.pt", map_location="cpu", weights_only=False)
    keys = {"ganforge": "generator_ema" if entry.job.gan.ema.enabled else "generator"}
    if entry.job.gan.ema.enabled:
        keys["ganforge raw G"] = "generator"
    nets = {}
    for name, key in keys.items():
        net = modality.build_generator(entry.job.model, entry.data)
        net.load_state_dict(states[key])
        nets[name] = net.eval()
    return nets


@torch.no_grad()
def ganforge_samples(entry: Entry, net: torch.nn.Module, n: int, seed: int) -> torch.Tensor:
    modality = get_modality(entry.job.modality)
    z = modality.sample_latents(entry.job.model, entry.data.info, n, torch.Generator().manual_seed(seed))
    return torch.cat([samples_of(net(chunk)).float() for chunk in z.split(500)])


def reference_samples(entry: Entry, out: Path, width: int, n: int, seed: int) -> torch.Tensor:
    run = json.loads((out / "run.json").read_text())
    if run["fingerprint"] != entry.data.fingerprint:
        raise RuntimeError(
            f"the reference trained on other data ({run['fingerprint']} != {entry.data.fingerprint})"
        )
    info = entry.data.info
    net = Generator(info["size"], info["channels"], width)
    net.load_state_dict(torch.load(out / "generator.pt", map_location="cpu", weights_only=True))
    return sample(net, n, seed)


def class_shares(entry: Entry, fakes: torch.Tensor) -> dict[str, float]:
    """min class share / expected share, and how many classes get at least a third of theirs."""
    _, probs = entry.scorer.module.embed(fakes)  # type: ignore[attr-defined]
    k = probs.shape[1]
    shares = np.bincount(probs.argmax(1), minlength=k) / len(probs)
    return {"min_share": float(shares.min() * k), "classes_third": float((shares * k >= 1 / 3).sum())}


def score(entry: Entry, fakes: torch.Tensor, run: dict[str, Any]) -> dict[str, float]:
    knn = entry.job.data.eval.knn
    metrics = feature_metrics(entry.scorer.module, fakes, entry.half_a, entry.half_b, knn, SPLIT_SEED)  # type: ignore[arg-type]
    steps = run["steps"]
    return {
        **metrics,
        **class_shares(entry, fakes),
        "steps": steps,
        "s_per_step": run["seconds"] / max(steps, 1),
    }


def score_pair(entry: Entry, outs: dict[str, Path], seed: int, width: int, samples_dir: Path) -> None:
    n = len(entry.half_a)
    reference_name = f"reference DCGAN, width {width}"
    runs = {side: json.loads((out / "run.json").read_text()) for side, out in outs.items()}
    fakes = {
        name: ganforge_samples(entry, net, n, LATENT_SEED + seed)
        for name, net in ganforge_generators(entry, outs["ganforge"]).items()
    }
    fakes[reference_name] = reference_samples(entry, outs["reference"], width, n, LATENT_SEED + seed)
    for name, x in fakes.items():
        run = runs["reference" if name == reference_name else "ganforge"]
        result = score(entry, x, run)
        entry.rows.setdefault(name, []).append(result)
        print(f"  seed {seed} {name}: " + ", ".join(f"{k} {result[k]:.4g}" for k in KEYS), flush=True)
    grids = {"ganforge": fakes["ganforge"], f"reference-w{width}": fakes[reference_name]}
    for side, x in grids.items():
        path = write_grid(x[:GRID], samples_dir, 0, name=f"vs-reference_{entry.slug}_{side}_seed{seed}.png")
        print(f"  grid: {path}", flush=True)


# ---- the table -------------------------------------------------------------------------------------


def _cell(key: str, values: list[float]) -> str:
    places = PLACES.get(key, 3)
    if len(values) == 1:
        return f"{values[0]:.{places}f}"
    return f"{statistics.mean(values):.{places}f} ± {statistics.stdev(values):.{places}f}"


def table(entry: Entry) -> str:
    floor = feature_metrics(
        entry.scorer.module, entry.half_b, entry.half_a, entry.half_b, entry.job.data.eval.knn, SPLIT_SEED
    )  # type: ignore[arg-type]
    real = {**floor, **class_shares(entry, entry.half_b)}
    lines = [
        f"**{entry.label}** ({entry.job.data.dataset} {entry.job.data.size}x{entry.job.data.size}, "
        f"{len(entry.half_a)} samples vs real half A; metric model `{entry.scorer.metric_version}`)",
        "",
        "| side | " + " | ".join(COLUMNS) + " |",
        "|" + "---|" * (len(COLUMNS) + 1),
    ]
    for name, runs in entry.rows.items():
        lines.append(f"| {name} | " + " | ".join(_cell(k, [r[k] for r in runs]) for k in KEYS) + " |")
    lines.append(
        "| real half B (floor) | | | "
        + " | ".join(
            _cell(k, [real[k]]) for k in ("fid", "kid", "precision", "recall", "min_share", "classes_third")
        )
        + " |"
    )
    ours, bar = entry.rows["ganforge"], next(v for k, v in entry.rows.items() if k.startswith("reference"))
    mean = {k: (statistics.mean(r[k] for r in ours), statistics.mean(r[k] for r in bar)) for k in KEYS}
    wins = {"FID": mean["fid"][0] < mean["fid"][1], "precision": mean["precision"][0] > mean["precision"][1]}
    wins["recall"] = mean["recall"][0] > mean["recall"][1]
    verdict = ", ".join(f"{k} {'yes' if v else 'no'}" for k, v in wins.items())
    # The bar: better on all three 3-seed means, not on some of them.
    outcome = "beats" if all(wins.values()) else "does not beat"
    return "\n".join(lines) + f"\n\nganforge {outcome} the reference on the mean (better on: {verdict})."


def body(entries: list[Entry], args: argparse.Namespace) -> str:
    seeds = f"seeds 0..{args.seeds - 1}" if args.seeds > 1 else "seed 0"
    head = (
        f"Command: `{command_line()}` ({os.cpu_count()} CPU cores). Each pair: ganforge's config "
        f"(ganforge_timed.py, in-process loop) and the PyTorch examples DCGAN (reference_dcgan.py, width "
        f"{args.width}, batch 64, nz 100; width 32 by default because one core per side: the published "
        "64 costs 2x the time per step at 16x16 and 3.3x at 32x32) start together, one process and "
        "one torch thread each, "
        f"{args.minutes:g} min of wall clock each (data loading included), same seed; pairs run one "
        f"after another. Scored afterwards with the same metric model: mean ± sd over {seeds}. "
        "`ganforge`: its EMA generator where the config has EMA (`ganforge raw G`: the live G of the "
        "same run); reference: G sampled as the example does (train-mode BatchNorm, batches of 64). "
        "min class share: the rarest class under the metric classifier, as a fraction of its share "
        "in a balanced set. Grids: `benchmarks/samples/vs-reference_*.png`."
    )
    return head + "\n\n" + "\n\n".join(table(entry) for entry in entries)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--sets", nargs="+", choices=sorted(SETS), default=list(SETS))
    parser.add_argument(
        "--ganforge-config", action="append", default=[], help="instead of --sets; repeatable"
    )
    parser.add_argument("--seeds", type=int, default=3)
    parser.add_argument("--minutes", type=float, default=10.0, help="wall clock per side and seed")
    parser.add_argument(
        "--width", type=int, default=DEFAULT_WIDTH, help="reference ngf = ndf (published: 64)"
    )
    parser.add_argument("--set", dest="overrides", action="append", default=[], help="ganforge KEY=VALUE")
    parser.add_argument("--samples-dir", type=Path, default=HERE / "samples")
    parser.add_argument("--smoke", action="store_true", help="0.3 min, 1 seed, digits; no RESULTS.md")
    parser.add_argument("--no-write", action="store_true")
    args = parser.parse_args()
    if args.smoke:
        vars(args).update(SMOKE, no_write=True)
        if args.samples_dir == HERE / "samples":
            args.samples_dir = Path(tempfile.gettempdir()) / "ganforge-vs-reference-smoke"
    configs = args.ganforge_config or [SETS[name] for name in args.sets]
    entries = [prepare_entry(config, args.overrides) for config in configs]  # the ruler first, then the pairs
    for entry in entries:
        for seed in range(args.seeds):
            print(f"{entry.label}, seed {seed}: both sides for {args.minutes:g} min", flush=True)
            with tempfile.TemporaryDirectory(prefix="ganforge-vs-reference-") as tmp:
                outs = run_pair(entry, seed, args.minutes, args.width, Path(tmp))
                score_pair(entry, outs, seed, args.width, args.samples_dir)
    text = body(entries, args)
    print(text)
    if not args.no_write:
        title = " + ".join(entry.label for entry in entries)
        write_section(f"Image vs the PyTorch DCGAN example: {title} (issue 15)", text)


if __name__ == "__main__":
    main()
