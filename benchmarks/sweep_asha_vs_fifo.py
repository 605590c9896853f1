"""Does early stopping pay? The same sweep (same space, same seeded samples) under FIFO and ASHA.

    python benchmarks/sweep_asha_vs_fifo.py [--sweep configs/sweeps/grid25_asha.yaml] [--set KEY=VALUE ...]

Compute is the total number of G steps all trials trained (a trial stopped at step 5,000 counts
5,000). Each side reports its best trial's modes and high-quality fraction against the grid-25
target (>= 24 modes, >= 90% high quality), untracked so only training is measured. The trials
are identical on both sides (seeded samples), so FIFO's final scores show which trials were
worth keeping; the second table says whether ASHA, ranking by the sweep's metric, kept them.
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
        quality = _last_result(_trial_dir(outcome.path, best.trial_id))
    finals = {
        _params_key(t.params): {**_last_result(_trial_dir(outcome.path, t.trial_id)), "step": t.step}
        for t in outcome.trials
    }
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
        "metric": outcome.metric,
        "finals": finals,
    }


def _params_key(params: dict) -> str:
    return json.dumps(params, sort_keys=True, default=str)


def _trial_dir(sweep_path: str, trial_id: str) -> str:
    return next(p.path for p in os.scandir(sweep_path) if trial_id in p.name)


def kept_table(fifo: dict, asha: dict, top: int = 4) -> str:
    """FIFO's best trials by final quality, and how far ASHA let each of them run."""
    ranked = sorted(fifo["finals"].items(), key=lambda kv: -kv[1].get("quality", 0.0))
    rows = []
    for rank, (key, final) in enumerate(ranked[:top], start=1):
        cut = asha["finals"].get(key, {})
        rows.append(
            f"| {rank} | {final.get('modes', 0):.0f} | {final.get('high_quality', 0):.1f}% | "
            f"{final.get('quality', 0):.3f} | {cut.get('step', 0):,} | "
            f"{'yes' if cut.get('step', 0) >= final['step'] else 'no'} |"
        )
    return "\n".join(rows)


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
        print({k: v for k, v in row.items() if k != "finals"}, flush=True)
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

ASHA (ranking by `{asha["metric"]}`) used {asha["steps"] / max(fifo["steps"], 1):.2f} of FIFO's compute
(total G steps).

FIFO's best {min(4, len(fifo["finals"]))} trials by final quality, and whether ASHA kept them to the end:

| FIFO rank | final modes | final high quality | final quality | ASHA stopped at step | kept |
|---|---|---|---|---|---|
{kept_table(fifo, asha)}
"""
    write_section("Sweep: ASHA against FIFO on grid-25, ranked by quality (issue 13)", body)
    print(body)


if __name__ == "__main__":
    main()
