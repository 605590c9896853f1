"""ganforge's audio recipe side by side with WaveGAN's published one (issue 16).

python benchmarks/audio_vs_reference.py [--config configs/audio/wavegan_cpu.yaml] [--seeds 3]
    [--first-seed 0] [--minutes 10] [--set KEY=VALUE ...] [--smoke] [--no-write]

For each seed, two processes start together, one core each (OMP_NUM_THREADS=1, one torch thread):
ganforge's shipped config (ganforge_timed.py: the platform's training loop, in-process) and the
reference (reference_wavegan.py: the paper's WGAN-GP recipe as a plain script, at the config's
model size d and batch size). Both read the data through ganforge's data code (the same tensors:
the reference reports their fingerprint and it must match), get the same wall-clock budget and
the same seed. Seeds run one after another.

Then this process scores both final generators with the same ruler: the data's metric model (the
digit classifier ganforge's own evaluation uses, modalities/audio/classifier.py), generated clips
against real half A, half B giving the real-vs-real floor (`feature_metrics`): classifier
inception score, IS ratio (generated / real half A), FID in the classifier's features,
precision/recall; plus the share of clips the classifier hears as each digit (min share /
expected, how many digits reach a third of theirs), the share it hears clearly (p >= 0.5) and,
per side over all seeds, a 10x10 count of which digits come out (row: the digit heard; the
diagonal: heard clearly; off it: unclear, column = the runner-up). ganforge is scored with its
EMA generator when the config has EMA on (the raw G is scored too, one row more). A spectrogram
strip of the first 16 scored clips (with 8 real ones below) per side and seed goes to
benchmarks/samples/, and for ganforge's seed 0 ten clips per digit heard clearly (a WAV and a
spectrogram PNG per digit) to benchmarks/samples/audio-by-digit_*/.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
from pathlib import Path
from typing import Any

import numpy as np
import torch
from common import command_line, write_section
from reference_wavegan import BETAS, LAMBDA, LR, N_CRITIC, PHASE_SHUFFLE, Generator, sample
from side_by_side import (
    LATENT_SEED,
    RUN_DATE,
    Entry,
    check_fingerprint,
    class_probs,
    floor_row,
    ganforge_command,
    ganforge_generators,
    ganforge_samples,
    harness_parser,
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
    table_row,
)

from ganforge.modalities.audio.samples import write_spectrograms, write_strip as write_wav_strip

HERE = Path(__file__).resolve().parent
CONFIG = "configs/audio/wavegan_cpu.yaml"
REFERENCE = "reference WaveGAN"
STRIP, STRIP_REALS = 16, 8
CLEAR = 0.5  # heard clearly: the top digit is more likely than all the others together
PER_DIGIT = 10  # clips per digit to listen to and look at (issue 16)
SMOKE = {"minutes": 0.3, "seeds": 1}
KEYS = (
    "steps",
    "s_per_step",
    "inception_score",
    "is_ratio",
    "fid",
    "precision",
    "recall",
    "min_share",
    "classes_third",
    "clear",
)
COLUMNS = (
    "G steps",
    "s/step",
    "IS",
    "IS ratio",
    "FID",
    "precision",
    "recall",
    "min digit share / expected",
    "digits >= 1/3",
    "heard clearly",
)
PLACES = {"steps": 0, "inception_score": 2, "fid": 2, "classes_third": 1}


# ---- one pair: both sides at once, one core each -------------------------------------------------


def run_audio_pair(entry: Entry, seed: int, minutes: float, tmp: Path) -> dict[str, Path]:
    """Starts ganforge and the reference (at the job's d and batch size) together; waits for both."""
    size = ["--dim", str(entry.job.model.model_dim), "--batch-size", str(entry.job.train.batch_size)]
    reference = [
        sys.executable,
        str(HERE / "reference_wavegan.py"),
        *reference_args(entry, seed, minutes),
        *size,
    ]
    commands = {"ganforge": ganforge_command(entry, seed, minutes), "reference": reference}
    return run_pair(commands, seed, minutes, tmp)


# ---- scoring ---------------------------------------------------------------------------------------


def reference_samples(out: Path, run: dict[str, Any], n: int, seed: int) -> torch.Tensor:
    net = Generator(run["window"], run["dim"])
    net.load_state_dict(torch.load(out / "generator.pt", map_location="cpu", weights_only=True))
    return sample(net, n, seed)


def clear_share(probs: np.ndarray) -> float:
    """Share of clips whose top digit has probability >= CLEAR."""
    return float((probs.max(1) >= CLEAR).mean())


def heard_counts(probs: np.ndarray) -> np.ndarray:
    """k x k counts: row = the digit heard (argmax); column = the same digit when heard clearly,
    else the runner-up. Row sums: how often each digit comes out."""
    order = np.argsort(-probs, axis=1)
    top, runner_up = order[:, 0], order[:, 1]
    column = np.where(probs.max(1) >= CLEAR, top, runner_up)
    counts = np.zeros((probs.shape[1], probs.shape[1]), dtype=np.int64)
    np.add.at(counts, (top, column), 1)
    return counts


def write_strip(entry: Entry, x: torch.Tensor, probs: np.ndarray, path: Path) -> Path:
    """Spectrograms of the first STRIP clips, titled by the digit heard ('?': not clearly)."""
    names = entry.data.info["class_names"]
    titles = [names[p.argmax()] + ("" if p.max() >= CLEAR else "?") for p in probs[:STRIP]]
    rate = entry.data.info["sample_rate"]
    return write_spectrograms(path, x[:STRIP], entry.half_b[:STRIP_REALS], rate, titles)


def write_by_digit(entry: Entry, x: torch.Tensor, probs: np.ndarray, folder: Path) -> Path:
    """Per digit, the first PER_DIGIT clips heard clearly as it, in sampling order (what a user
    would draw, not the most confident ones): one WAV of them back to back and one spectrogram PNG
    with real clips of the digit below. A digit with fewer clear clips gets what there is; one that
    never comes out clearly gets no files."""
    names, rate = entry.data.info["class_names"], entry.data.info["sample_rate"]
    heard, clear = probs.argmax(1), probs.max(1) >= CLEAR
    real_heard = class_probs(entry, entry.half_b).argmax(1)  # the classifier's held-out accuracy is 1.0
    for digit, name in enumerate(names):
        chosen = np.flatnonzero((heard == digit) & clear)[:PER_DIGIT]
        if len(chosen) == 0:
            continue
        clips = x[torch.as_tensor(chosen)]
        reals = entry.half_b[torch.as_tensor(np.flatnonzero(real_heard == digit))]
        titles = [f"{name} p={probs[i, digit]:.2f}" for i in chosen]
        write_wav_strip(folder / f"{name}.wav", clips, rate)
        write_spectrograms(folder / f"{name}.png", clips, reals, rate, titles)
    return folder


def score_pair(
    entry: Entry,
    outs: dict[str, Path],
    seed: int,
    heard: dict[str, np.ndarray],
    samples_dir: Path,
    keep_clips: bool,
) -> None:
    n = len(entry.half_a)
    runs = {side: json.loads((out / "run.json").read_text()) for side, out in outs.items()}
    check_fingerprint(entry, runs["reference"])
    fakes = {
        name: ganforge_samples(entry, net, n, LATENT_SEED + seed)
        for name, net in ganforge_generators(entry, outs["ganforge"]).items()
    }
    fakes[REFERENCE] = reference_samples(outs["reference"], runs["reference"], n, LATENT_SEED + seed)
    strips = {"ganforge": "ganforge", REFERENCE: "reference"}
    for name, x in fakes.items():
        probs = class_probs(entry, x)
        run = runs["reference" if name == REFERENCE else "ganforge"]
        result = {**score(entry, x, run, probs), "clear": clear_share(probs)}
        entry.rows.setdefault(name, []).append(result)
        heard[name] = heard.get(name, 0) + heard_counts(probs)
        print(f"  seed {seed} {name}: " + ", ".join(f"{k} {result[k]:.4g}" for k in KEYS), flush=True)
        if name in strips:
            png = samples_dir / sample_name(f"audio-vs-reference_{entry.slug}_{strips[name]}", seed)
            print(f"  spectrograms: {write_strip(entry, x, probs, png)}", flush=True)
        if name == "ganforge" and keep_clips:  # one seed: about 2.4 MB of WAVs and PNGs in the repository
            folder = samples_dir / sample_name(f"audio-by-digit_{entry.slug}", seed, suffix="")
            print(f"  {PER_DIGIT} clips per digit: {write_by_digit(entry, x, probs, folder)}", flush=True)


# ---- the tables ------------------------------------------------------------------------------------


def table(entry: Entry) -> str:
    real = real_floor(entry)
    real["clear"] = clear_share(class_probs(entry, entry.half_b))
    data, accuracy = entry.job.data, entry.scorer.report.get("classifier_accuracy", float("nan"))
    lines = [
        f"**{entry.label}** ({data.dataset}, {data.window} samples at {data.sample_rate} Hz; "
        f"{len(entry.half_a)} clips per run vs real half A, whose IS {real['inception_score_real']:.2f} "
        f"is the IS ratio's denominator; metric model `{entry.scorer.metric_version}`, held-out "
        f"accuracy {accuracy:.3f})",
        "",
        *table_head(COLUMNS),
        *side_rows(entry.rows, KEYS, PLACES),
        floor_row("real half B (floor)", real, KEYS, PLACES),  # no steps: blank
    ]
    ours, bar = means(entry.rows["ganforge"], KEYS), means(entry.rows[REFERENCE], KEYS)
    wins = {"IS ratio": ours["is_ratio"] > bar["is_ratio"], "FID": ours["fid"] < bar["fid"]}
    verdict = ", ".join(f"{k} {'yes' if v else 'no'}" for k, v in wins.items())
    # The bar: better on both 3-seed means, not on one of them.
    outcome = "beats" if all(wins.values()) else "does not beat"
    return "\n".join(lines) + f"\n\nganforge {outcome} the reference on the mean (better on: {verdict})."


def heard_table(name: str, counts: np.ndarray, class_names: list[str]) -> str:
    """One side's counts as a markdown table (zeros as dots, so the pattern stands out)."""
    lines = [f"*{name}*: {int(counts.sum())} clips", "", *table_head([*class_names, "clips"], "heard as")]
    for digit, row in zip(class_names, counts, strict=True):
        lines.append(table_row(digit, [str(c) if c else "·" for c in row] + [str(row.sum())]))
    return "\n".join(lines)


def heard_section(entry: Entry, heard: dict[str, np.ndarray], seeds: int) -> str:
    names = entry.data.info["class_names"]
    head = (
        f"Which digits come out (all {seeds} seed(s) together). Row: the digit the classifier hears "
        f"(its top class); on the diagonal the clips it hears clearly (p >= {CLEAR}), off it the "
        "unclear ones under their runner-up digit; last column: the row's total."
    )
    tables = [heard_table(name, heard[name], names) for name in ("ganforge", REFERENCE)]
    return "\n\n".join([head, *tables])


def body(entry: Entry, heard: dict[str, np.ndarray], args: argparse.Namespace) -> str:
    job, seeds = entry.job, seeds_label(args.first_seed, args.seeds)
    gan, model = job.gan, job.model
    ema = f"EMA {gan.ema.decay}" if gan.ema.enabled else "no EMA"
    spectral = f", STFT discriminators at FFT {list(model.stft_ffts)}" if model.spectral_d else ""
    head = (
        f"Command: `{command_line()}` ({os.cpu_count()} CPU cores). Each pair starts together, one "
        f"process and one torch thread each, {args.minutes:g} min of wall clock each (data loading "
        f"included), same seed; pairs run one after another. ganforge: its config through "
        f"ganforge_timed.py (in-process loop: {gan.loss} loss, gradient penalty {gan.gradient_penalty:g}, "
        f"{gan.n_critic} critic steps, Adam lr {gan.g_opt.lr:g}, d {model.model_dim}, batch "
        f"{job.train.batch_size}, {ema}{spectral}). Reference: WaveGAN's published recipe "
        f"(reference_wavegan.py: WGAN-GP lambda {LAMBDA:g}, {N_CRITIC} critic steps, Adam lr {LR:g} "
        f"betas {BETAS}, phase shuffle {PHASE_SHUFFLE}, kernel 25 / stride 4, no BatchNorm) at the "
        f"same d and batch. Scored afterwards with the same metric model: mean ± sd over {seeds}. "
        "`ganforge`: its EMA generator where the config has EMA (`ganforge raw G`: the live G of the "
        "same run). min digit share: the rarest digit under the classifier, as a fraction of its share "
        "in a balanced set. Spectrograms: "
        f"`benchmarks/samples/audio-vs-reference_*_{RUN_DATE}.png`.{precision_note(entry)}"
    )
    return "\n\n".join([head, table(entry), heard_section(entry, heard, args.seeds)])


def main() -> None:
    parser = harness_parser(
        __doc__ or "", CONFIG, "a ganforge audio job with labelled data", 3, "0.3 min, 1 seed; no RESULTS.md"
    )
    args = parser.parse_args()
    if args.smoke:
        vars(args).update(SMOKE, no_write=True)
        if args.samples_dir == HERE / "samples":
            args.samples_dir = Path(tempfile.gettempdir()) / "ganforge-audio-vs-reference-smoke"
    entry = prepare_entry(args.config, args.overrides, "audio")  # the ruler first, then the pairs
    heard: dict[str, np.ndarray] = {}
    for seed in seed_numbers(args.first_seed, args.seeds):
        print(f"{entry.label}, seed {seed}: both sides for {args.minutes:g} min", flush=True)
        with tempfile.TemporaryDirectory(prefix="ganforge-audio-vs-reference-") as tmp:
            outs = run_audio_pair(entry, seed, args.minutes, Path(tmp))
            score_pair(entry, outs, seed, heard, args.samples_dir, keep_clips=seed == args.first_seed)
    text = body(entry, heard, args)
    print(text)
    if not args.no_write:
        write_section(f"Audio vs the WaveGAN reference: {entry.label} (issue 16)", text)


if __name__ == "__main__":
    main()
