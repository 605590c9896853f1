"""Does early stopping pay? The same sweep (same space, same seeded samples) under FIFO and ASHA.

    python benchmarks/sweep_asha_vs_fifo.py [--sweep configs/sweeps/grid25_asha.yaml] [--set KEY=VALUE ...]

Compute is the total number of G steps all trials trained (a trial stopped at step 5,000 counts
5,000). Each side reports its best trial's modes and high-quality fraction against the grid-25
target (>= 24 modes, >= 90% high quality), untracked so only training is measured.
"""

from __future__ import annotations

import argparse
import json
import os
import tempfile
import time
from pathlib import Path

from common import command_line, write_section

from ganforge.pipelines.sweep import load_sweep_file, run_sweep
from ganforge.platform.cluster.connect import connect

TARGET_MODES, TARGET_HQ = 24, 90.0  # high_quality is a percentage


def run(sweep_file: str, overrides: list[str], scheduler: str) -> dict:
    loaded = load_sweep_file(
        sweep_file, [*overrides, f"scheduler.type={scheduler}", "overrides.tracking.enabled=false"]
    )
    start = time.perf_counter()
    outcome = run_sweep(loaded)
    wall = time.perf_counter() - start
    by_id = {t.trial_id: t for t in outcome.trials}
    best = outcome.best
    quality = {}
    if best is not None:
        result_dir = next(p for p in os.scandir(outcome.path) if best.trial_id in p.name)
        quality = _last_result(result_dir.path)
    reached = (
        bool(quality)
        and quality.get("modes", 0) >= TARGET_MODES
        and quality.get("high_quality", 0) >= TARGET_HQ
    )
    return {
        "scheduler": scheduler,
        "trials": len(by_id),
        "steps": sum(t.step for t in outcome.trials),
        "wall": wall,
        "modes": quality.get("modes"),
        "high_quality": quality.get("high_quality"),
        "reached": reached,
    }


def _last_result(trial_dir: str) -> dict:
    lines = Path(trial_dir, "result.json").read_text().strip().splitlines()
    return json.loads(lines[-1]) if lines else {}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--sweep", default="configs/sweeps/grid25_asha.yaml")
    parser.add_argument("--set", dest="overrides", action="append", default=[], metavar="KEY=VALUE")
    args = parser.parse_args()
    os.environ.setdefault("GANFORGE_HOME", tempfile.mkdtemp(prefix="ganforge-asha-bench-"))
    connect(num_cpus=2)
    rows = [run(args.sweep, args.overrides, scheduler) for scheduler in ("fifo", "asha")]
    for row in rows:
        print(row, flush=True)
    fifo, asha = rows
    table = "\n".join(
        f"| {r['scheduler']} | {r['trials']} | {r['steps']:,} | {r['wall'] / 60:.1f} | {r['modes']} | "
        f"{(r['high_quality'] or 0):.1f}% | {'yes' if r['reached'] else 'no'} |"
        for r in rows
    )
    body = f"""Command: `{command_line()}`

| scheduler | trials | total G steps | wall min | best modes | best high quality | target reached |
|---|---|---|---|---|---|---|
{table}

ASHA used {asha["steps"] / max(fifo["steps"], 1):.2f} of FIFO's compute (total G steps).
"""
    write_section("Sweep: ASHA against FIFO on grid-25 (issue 7)", body)
    print(body)


if __name__ == "__main__":
    main()
