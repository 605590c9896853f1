"""Mode coverage on grid-25 and ring-8 against the PacGAN anchors (mean over seeds).

python benchmarks/toy_quality.py [--seeds 3] [--set KEY=VALUE ...]
"""

from __future__ import annotations

import argparse
import os
import statistics
import time

import torch

from common import command_line, load_untracked, train_local, write_section

from ganforge.platform.config import parse_override

JOBS = {"grid25": "configs/toy/grid25.yaml", "ring8": "configs/toy/ring8.yaml"}
TARGETS = {
    "grid25": "target (issue 15): >= 24.5 modes, >= 95% high quality, reverse KL <= 0.05, <= 5 CPU-min/run "
    "(PacGAN Table 1: GAN 17.3 / 94.8%; PacGAN4 24.8 / 93.6% / 0.04)",
    "ring8": "target (issue 15): 8 modes, >= 98% high quality",
}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--seeds", type=int, default=3)
    parser.add_argument("--only", choices=sorted(JOBS), default=None)
    parser.add_argument("--set", dest="overrides", action="append", default=[])
    parser.add_argument("--no-write", action="store_true")
    args = parser.parse_args()
    overrides = dict(parse_override(item) for item in args.overrides)
    rows = []
    for name, path in JOBS.items():
        if args.only and name != args.only:
            continue
        runs = []
        for seed in range(args.seeds):
            job = load_untracked(path, {**overrides, "train.seed": seed})
            start = time.perf_counter()
            metrics = train_local(job)
            metrics["minutes"] = (time.perf_counter() - start) / 60
            print(
                name,
                seed,
                {k: round(metrics[k], 3) for k in ("modes", "high_quality", "reverse_kl", "minutes")},
                flush=True,
            )
            runs.append(metrics)
        keys = ("modes", "high_quality", "reverse_kl", "minutes")
        mean = {k: statistics.mean(r[k] for r in runs) for k in keys}
        sd = {k: statistics.stdev(r[k] for r in runs) if len(runs) > 1 else 0.0 for k in keys}
        per_seed = "; ".join(
            f"{r['modes']:.0f} / {r['high_quality']:.1f}% / {r['reverse_kl']:.3f}" for r in runs
        )
        rows.append(
            f"| {name} | {job.train.steps} | {mean['modes']:.1f} ± {sd['modes']:.1f} | "
            f"{mean['high_quality']:.1f} ± {sd['high_quality']:.1f}% | "
            f"{mean['reverse_kl']:.3f} ± {sd['reverse_kl']:.3f} | {mean['minutes']:.1f} | "
            f"{per_seed} | {TARGETS[name]} |"
        )
    body = (
        f"Command: `{command_line()}` ({os.cpu_count()} CPU cores, {torch.get_num_threads()} torch "
        "thread(s), in-process runner, EMA generator, "
        f"2,500 samples, mean of {args.seeds} seeds).\n\n"
        "| set | G steps | modes (mean ± sd) | high quality | reverse KL | wall min/run "
        "| per seed (modes / HQ / KL) | anchor |\n"
        "|---|---|---|---|---|---|---|---|\n" + "\n".join(rows)
    )
    print(body)
    if not args.no_write:
        sets = args.only or "grid25 + ring8"
        write_section(f"Toy mixtures, {sets}: mode coverage (issues 2, 15)", body)


if __name__ == "__main__":
    main()
