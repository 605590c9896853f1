"""Ray Train with 1 vs 2 workers on the same image job: do the metrics match within seed noise?

python benchmarks/image_workers.py [--steps 1000] [--seeds 2] [--set KEY=VALUE ...]

Same global batch (64 = 1 x 64 = 2 x 32), same G steps, same seeds; only the data-parallel width
differs. Noise is judged against the spread between seeds at the same width.
"""

from __future__ import annotations

import argparse
import os
import statistics
import tempfile
import time
from pathlib import Path

from common import command_line, load_untracked, write_section

from ganforge.platform.cluster.connect import connect
from ganforge.platform.config import parse_override
from ganforge.platform.runners.ray_train import run_ray_train

CONFIG = "configs/image/digits_dcgan.yaml"
KEYS = ("fid", "fid_floor", "kid", "precision", "recall", "inception_score")
GLOBAL_BATCH = 64


def train_ray(overrides: dict, workers: int, seed: int) -> dict[str, float]:
    job = load_untracked(
        CONFIG,
        {
            **overrides,
            "train.runner": "ray",
            "train.workers": workers,
            "train.cpus_per_worker": 2 // workers,
            "train.batch_size": GLOBAL_BATCH // workers,
            "train.seed": seed,
        },
    )
    start = time.perf_counter()
    with tempfile.TemporaryDirectory() as tmp:
        metrics, _ = run_ray_train(job, tmp, f"image-workers-{workers}-{seed}")
    metrics["minutes"] = (time.perf_counter() - start) / 60
    return metrics


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--steps", type=int, default=1000)
    parser.add_argument("--seeds", type=int, default=2)
    parser.add_argument("--set", dest="overrides", action="append", default=[])
    parser.add_argument("--no-write", action="store_true")
    args = parser.parse_args()
    # Workers must find the same metric-classifier cache as this process.
    os.environ.setdefault("GANFORGE_HOME", str(Path("ganforge-runs").resolve()))
    overrides = {
        "train.steps": args.steps,
        "train.sample_every": 0,
        **dict(parse_override(item) for item in args.overrides),
    }
    connect(num_cpus=2)
    runs: dict[int, list[dict[str, float]]] = {1: [], 2: []}
    for seed in range(args.seeds):
        for workers in (1, 2):
            metrics = train_ray(overrides, workers, seed)
            print(workers, seed, {k: round(metrics[k], 3) for k in (*KEYS, "minutes")}, flush=True)
            runs[workers].append(metrics)
    rows = []
    for workers, results in runs.items():
        cells = []
        for key in KEYS:
            values = [r[key] for r in results]
            cells.append(f"{statistics.mean(values):.3f} ({', '.join(f'{v:.3f}' for v in values)})")
        minutes = statistics.mean(r["minutes"] for r in results)
        rows.append(f"| {workers} x {GLOBAL_BATCH // workers} | " + " | ".join(cells) + f" | {minutes:.1f} |")
    body = (
        f"Command: `{command_line()}` — {CONFIG}, {args.steps} G steps, global batch {GLOBAL_BATCH}, "
        f"Ray Train runner on 2 CPU cores, EMA generator; mean (per seed) over seeds 0..{args.seeds - 1}.\n\n"
        "| workers x batch | " + " | ".join(KEYS) + " | wall min |\n"
        "|---|" + "---|" * (len(KEYS) + 1) + "\n" + "\n".join(rows)
    )
    print(body)
    if not args.no_write:
        write_section("Image, Ray Train 1 vs 2 workers (issue 4)", body)


if __name__ == "__main__":
    main()
