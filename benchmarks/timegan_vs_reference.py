"""ganforge's TimeGAN side by side with the official TimeGAN recipe (issue 17, item 2).

python benchmarks/timegan_vs_reference.py [--config configs/timeseries/sines_timegan.yaml]
    [--seeds 1] [--first-seed 0] [--minutes 10] [--set KEY=VALUE ...] [--smoke] [--no-write]

For each seed, two processes start together, one core each (OMP_NUM_THREADS=1, one torch thread):
ganforge's shipped config (ganforge_timed.py: the platform's training loop, in-process, its phases
as the config sets them) and the reference (reference_timegan.py: jsyoon0823/TimeGAN's recipe as a
plain script, three equal phases sized to the budget). Both read the data through ganforge's data
code (the same tensors: the reference reports their fingerprint and it must match), get the same
wall-clock budget and the same seed. Seeds run one after another.

Then this process scores both final generators the way ganforge's evaluation does
(modalities/timeseries/metrics.py `posthoc_scores`): data.eval_samples generated windows against
as many training windows, TimeGAN's post-hoc GRU classifier (discriminative score, |accuracy - 0.5|)
and one-step-ahead predictor (predictive score, MAE on real), each trained data.posthoc_repeats
times (seeds s, s + 1, ...): mean ± sd over those repetitions. The real floor: a second, disjoint
set of training windows scored as if generated. A plot of generated against real windows and a PCA
scatter (the TimeGAN paper's figure) per side go to benchmarks/samples/.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import torch  # noqa: E402
from common import command_line, load_untracked, write_section  # noqa: E402
from reference_timegan import BATCH, D_THRESHOLD, HIDDEN, LAYERS, TimeGan, sample  # noqa: E402
from side_by_side import (  # noqa: E402
    LATENT_SEED,
    RUN_DATE,
    cell,
    harness_parser,
    run_pair,
    sample_name,
    seed_numbers,
    seeds_label,
    table_head,
    table_row,
)

from ganforge.modalities.timeseries.data import SeriesPrepared  # noqa: E402
from ganforge.modalities.timeseries.metrics import posthoc_scores  # noqa: E402
from ganforge.modalities.timeseries.samples import write_series_plot  # noqa: E402
from ganforge.platform.config import JobConfig, parse_override  # noqa: E402
from ganforge.platform.modality import get_modality  # noqa: E402
from ganforge.platform.runners.checkpoint import evaluated_generator  # noqa: E402

HERE = Path(__file__).resolve().parent
CONFIG = "configs/timeseries/sines_timegan.yaml"
REFERENCE = "reference TimeGAN"
RAW = "ganforge raw G"  # the live G beside the EMA G ganforge evaluates, where the config has EMA
FLOOR = "real vs real (floor)"
CHECK_EVERY = 50  # ganforge's budget checks: ~13 s apart in the joint phase, so it ends near the budget
SMOKE = {"minutes": 0.4, "seeds": 1}
SMOKE_SETS = [
    "model.embedding_steps=100",
    "model.supervised_steps=100",
    "data.eval_samples=1000",
    "data.discriminative_steps=200",
    "data.predictive_steps=200",
]
KEYS = ("discriminative_score", "predictive_score")
Section = dict[str, list[dict[str, float]]]


def commands(config: str, sets: list[str], seed: int, minutes: float) -> dict[str, list[str]]:
    """Both sides' command lines (run_pair adds `--out`)."""
    args = ["--config", config, "--seed", str(seed), "--minutes", str(minutes), "--threads", "1"]
    args += [a for item in sets for a in ("--set", item)]
    return {
        "ganforge": [
            sys.executable,
            str(HERE / "ganforge_timed.py"),
            *args,
            "--check-every",
            str(CHECK_EVERY),
        ],
        "reference": [sys.executable, str(HERE / "reference_timegan.py"), *args],
    }


@torch.no_grad()
def fakes_of(job: JobConfig, data: SeriesPrepared, outs: dict[str, Path], runs: dict, seed: int) -> dict:
    """data.eval_samples windows of each side, latents drawn from LATENT_SEED + seed (and of the
    live G, as RAW, where ganforge evaluates its EMA G)."""
    n, modality = job.data.eval_samples, get_modality("timeseries")
    state = torch.load(outs["ganforge"] / "generators.pt", weights_only=False)
    z = modality.output_latents(job.model, data.info, n, torch.Generator().manual_seed(LATENT_SEED + seed))
    keys = {"ganforge": None, **({RAW: "generator"} if job.gan.ema.enabled else {})}
    ours = {}
    for name, key in keys.items():
        net = evaluated_generator(job, data, state, key)
        ours[name] = torch.cat([net(chunk) for chunk in z.split(1000)])
    ref = TimeGan(runs["reference"]["features"], runs["reference"]["z_dim"])
    ref.load_state_dict(torch.load(outs["reference"] / "generator.pt", weights_only=True))
    theirs = sample(ref, n, runs["reference"]["seq_len"], LATENT_SEED + seed)
    return {**ours, REFERENCE: theirs}


def real_sets(data: SeriesPrepared, n: int, seed: int) -> tuple[torch.Tensor, torch.Tensor]:
    """The real windows the scores use (as the modality's evaluation draws them) and a disjoint set."""
    train = data.series.train
    order = torch.randperm(len(train), generator=torch.Generator().manual_seed(seed))
    return train[order[:n]], train[order[n : 2 * n]]


def scores(job: JobConfig, real: torch.Tensor, fake: torch.Tensor, seed: int) -> dict[str, float]:
    d = job.data
    with torch.enable_grad():
        return posthoc_scores(real, fake, d.discriminative_steps, d.predictive_steps, seed, d.posthoc_repeats)


def pca_plot(real: torch.Tensor, fakes: dict[str, torch.Tensor], path: Path, n: int = 1000) -> Path:
    """The TimeGAN paper's PCA figure: each window averaged over its features (n, T), projected on
    the first two principal components of the real ones."""
    r = real[:n].mean(2).numpy()
    mean = r.mean(0)
    basis = np.linalg.svd(r - mean, full_matrices=False)[2][:2].T
    figure, axes = plt.subplots(1, len(fakes), figsize=(5 * len(fakes), 4.5), dpi=100, squeeze=False)
    for ax, (name, x) in zip(axes[0], fakes.items(), strict=True):
        f = x[:n].mean(2).numpy()
        ax.scatter(*((r - mean) @ basis).T, s=4, alpha=0.4, c="tab:red", label="real")
        ax.scatter(*((f - mean) @ basis).T, s=4, alpha=0.4, c="tab:blue", label="generated")
        ax.set_title(f"PCA: {name}")
        ax.legend(loc="upper right")
    figure.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    figure.savefig(path)
    plt.close(figure)
    return path


def score_pair(job: JobConfig, data: SeriesPrepared, outs: dict[str, Path], seed: int, rows: Section,
               samples_dir: Path, slug: str) -> None:  # fmt: skip
    runs = {side: json.loads((out / "run.json").read_text()) for side, out in outs.items()}
    if runs["reference"]["fingerprint"] != data.fingerprint:
        raise RuntimeError("the reference trained on other data than ganforge")
    real, other = real_sets(data, job.data.eval_samples, seed)
    fakes = fakes_of(job, data, outs, runs, seed)
    for name, x in fakes.items():
        run = runs["reference" if name == REFERENCE else "ganforge"]
        result = {**scores(job, real, x, seed), "steps": run["steps"], "seconds": run["seconds"]}
        if name == REFERENCE:
            result["phase_iterations"] = run["phase_iterations"]
            result["joint_steps"] = run["joint_steps"]
        else:
            phases = job.model.embedding_steps + job.model.supervised_steps
            result["phase_iterations"] = job.model.embedding_steps
            result["joint_steps"] = max(run["steps"] - phases, 0)
        rows.setdefault(name, []).append(result)
        print(f"  seed {seed} {name}: " + ", ".join(f"{k} {v:.4g}" for k, v in result.items()), flush=True)
        if name == RAW:
            continue  # scored only: the plots show what each side evaluates
        side = "reference" if name == REFERENCE else "ganforge"
        plot = write_series_plot(x[:8], real[:8], samples_dir / "tmp", data.info)
        target = samples_dir / sample_name(f"timegan-vs-reference_{slug}_{side}", seed)
        plot.replace(target)
        print(f"  series plot: {target}", flush=True)
    if FLOOR not in rows:  # the same for every seed's pair: once
        rows[FLOOR] = [scores(job, real, other, seed)]
    fakes.pop(RAW, None)
    pca = pca_plot(real, fakes, samples_dir / sample_name(f"timegan-vs-reference_{slug}_pca", seed))
    print(f"  PCA: {pca}", flush=True)


def table(rows: Section) -> str:
    lines = [*table_head(["discriminative", "predictive", "phase N", "joint steps", "all steps", "wall s"])]
    for name, runs in rows.items():
        cells = []
        for key in KEYS:
            if len(runs) == 1:  # one run: the spread is the post-hoc repetitions'
                cells.append(f"{runs[0][key]:.3f} ± {runs[0][key + '_sd']:.3f}")
            else:
                cells.append(cell([r[key] for r in runs], 3))
        for key in ("phase_iterations", "joint_steps", "steps", "seconds"):
            cells.append(cell([r[key] for r in runs], 0) if key in runs[0] else "")
        lines.append(table_row(name, cells))
    return "\n".join(lines)


def body(job: JobConfig, rows: Section, args: argparse.Namespace, data: SeriesPrepared) -> str:
    d, m, gan = job.data, job.model, job.gan
    shape = tuple(data.series.train.shape)
    seeds = seeds_label(args.first_seed, args.seeds)
    spread = (
        f"mean ± sd over the {d.posthoc_repeats} post-hoc repetitions of one run"
        if args.seeds == 1
        else f"mean ± sd over {seeds} (each the mean of {d.posthoc_repeats} post-hoc repetitions)"
    )
    anchor = "; the paper's sines anchor is 0.011 / 0.093" if d.dataset == "sines" else ""
    return (
        f"Command: `{command_line()}` ({os.cpu_count()} CPU cores). Each pair starts together, one process "
        f"and one torch thread each, {args.minutes:g} min of wall clock each (data loading included), "
        f"{seeds}. Data: `{d.dataset}` {shape} (n, T, D), min-max scaled, read by ganforge's data code "
        f"on both sides (same fingerprint). ganforge: `{args.config}` through ganforge_timed.py (TimeGAN "
        f"objective: hidden {m.hidden_dim}, {m.num_layers} layers, noise {m.noise_dim}/step, "
        f"{m.embedding_steps} embedding + {m.supervised_steps} supervised steps, then joint; Adam lr "
        f"{gan.g_opt.lr:g}; batch {job.train.batch_size}). Reference: reference_timegan.py, "
        f"jsyoon0823/TimeGAN's recipe (GRU hidden {HIDDEN}, {LAYERS} layers, batch {BATCH}, five Adams at "
        f"TF defaults, 2 G/E rounds per D step, D updated while its loss > {D_THRESHOLD}, gamma 1, "
        f"TF-style init), three equal phases of N iterations sized to the budget, the joint phase running "
        f"on to the deadline. Scored afterwards by ganforge's post-hoc scores ({d.eval_samples} generated vs "
        f"{d.eval_samples} training windows, classifier {d.discriminative_steps} / predictor "
        f"{d.predictive_steps} iterations): {spread}. Lower is better for both{anchor}. ganforge: its EMA "
        f"generator where the config has EMA (`{RAW}`: the live G of the same run). Series plots "
        f"and PCA: `benchmarks/samples/timegan-vs-reference_*_{RUN_DATE}.png`.\n\n" + table(rows)
    )


def main() -> None:
    parser = harness_parser(
        __doc__ or "",
        CONFIG,
        "a ganforge timeseries job with method timegan",
        1,
        "0.4 min, short phases and scores; no RESULTS.md",
    )
    parser.add_argument("--json", type=Path, help="also write the rows and the section's text here")
    args = parser.parse_args()
    if args.smoke:
        vars(args).update(SMOKE, no_write=True)
        args.overrides = SMOKE_SETS + args.overrides
        if args.samples_dir == HERE / "samples":
            args.samples_dir = Path(tempfile.gettempdir()) / "ganforge-timegan-vs-reference-smoke"
    torch.set_num_threads(1)
    job = load_untracked(args.config, dict(parse_override(item) for item in args.overrides))
    if job.modality != "timeseries" or job.model.method != "timegan":  # type: ignore[attr-defined]
        parser.error(f"{args.config}: expected a timeseries job with model.method timegan")
    data = get_modality("timeseries").prepare(job.data)
    slug = Path(args.config).stem
    rows: Section = {}
    for seed in seed_numbers(args.first_seed, args.seeds):
        print(f"{slug}, seed {seed}: both sides for {args.minutes:g} min", flush=True)
        with tempfile.TemporaryDirectory(prefix="ganforge-timegan-vs-reference-") as tmp:
            outs = run_pair(
                commands(args.config, args.overrides, seed, args.minutes), seed, args.minutes, Path(tmp)
            )
            score_pair(job, data, outs, seed, rows, args.samples_dir, slug)  # type: ignore[arg-type]
    text = body(job, rows, args, data)  # type: ignore[arg-type]
    print(text)
    if args.json:
        args.json.write_text(json.dumps({"rows": rows, "text": text}, indent=2))
    if not args.no_write:
        write_section(f"Timeseries: TimeGAN vs the official recipe: {slug} (issue 17)", text)


if __name__ == "__main__":
    main()
