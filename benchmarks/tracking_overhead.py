"""Tracking overhead: the same job with tracking to a real MLflow server, and with tracking off.

    python benchmarks/tracking_overhead.py [--steps 2000] [--repeats 3] [--sample-every 250]

Starts `ganforge services` (local S3 endpoint + MLflow server with proxied artifacts) in a
throw-away GANFORGE_HOME, then trains configs/toy/grid25.yaml in-process, tracked and untracked,
interleaved per repeat so machine noise hits both alike. Throughput is G steps per second of
the whole `run_local` call: the tracked run includes enqueueing metrics every `log_every`
steps, sample grids every `sample_every` steps and waiting for the queue at the end. The
figure is tracked / untracked (target >= 0.97). Run creation and model registration happen
once per job outside the loop and are reported separately.
"""

from __future__ import annotations

import argparse
import os
import signal
import statistics
import sys
import tempfile
import time
from pathlib import Path

from common import command_line, load_untracked, write_section

from ganforge.platform.config import JobConfig
from ganforge.platform.runners.local import run_local
from ganforge.platform.services.stack import ServicesOptions, down, up
from ganforge.platform.tracking.run import finish_run, start_run

CONFIG = "configs/toy/grid25.yaml"


def timed_run(job: JobConfig, tracked: bool) -> tuple[float, float]:
    """(steps per second of the training loop, seconds spent opening and closing the run)."""
    target = None
    opened = time.perf_counter()
    if tracked:
        target = start_run(job, fingerprint="benchmark", runner="local")
    setup = time.perf_counter() - opened
    with tempfile.TemporaryDirectory() as tmp:
        start = time.perf_counter()
        run_local(job, Path(tmp), target)
        elapsed = time.perf_counter() - start
    if target is not None:
        closed = time.perf_counter()
        finish_run(target, ok=True)
        setup += time.perf_counter() - closed
    return job.train.steps / elapsed, setup


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--steps", type=int, default=2000)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--sample-every", type=int, default=250)
    args = parser.parse_args()

    # SIGTERM (e.g. a timeout) unwinds through `finally`, so the services are stopped.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    home = tempfile.mkdtemp(prefix="ganforge-bench-")
    os.environ["GANFORGE_HOME"] = home
    state, _ = up(ServicesOptions())
    try:
        overrides = {
            "train.steps": args.steps,
            "train.sample_every": args.sample_every,
            "train.checkpoint_every": args.steps,
            "train.eval_every": 0,
        }
        untracked = load_untracked(CONFIG, overrides)
        tracked = untracked.model_copy(
            update={
                "tracking": untracked.tracking.model_copy(update={"enabled": True, "uri": state.tracking_uri})
            }
        )
        on, off, setups = [], [], []
        for repeat in range(args.repeats):
            order = (
                [(tracked, on), (untracked, off)] if repeat % 2 == 0 else [(untracked, off), (tracked, on)]
            )
            for job, bucket in order:
                throughput, setup = timed_run(job, job.tracking.enabled)
                bucket.append(throughput)
                if job.tracking.enabled:
                    setups.append(setup)
                label = "tracked" if job.tracking.enabled else "untracked"
                print(f"repeat {repeat}: {label} {throughput:.1f} steps/s", flush=True)
    finally:
        down(state)
    ratios = [a / b for a, b in zip(on, off, strict=True)]
    ratio = statistics.median(on) / statistics.median(off)
    body = f"""Command: `{command_line()}`

Toy grid-25 job (3x256 MLPs, batch 256), {args.steps} steps in-process; tracked to a real
`mlflow server` on loopback (SQLite backend, artifacts proxied to the local S3 endpoint):
metrics every 50 steps, a sample grid (`log_image`) every {args.sample_every} steps.

| | steps/s (median of {args.repeats}) |
|---|---|
| tracking off | {statistics.median(off):.1f} |
| tracking to the server | {statistics.median(on):.1f} |

**Throughput with tracking / without: {ratio:.3f}** (target >= 0.97; per-repeat ratios
{", ".join(f"{r:.3f}" for r in ratios)}). Opening and closing the run outside the loop took
{statistics.median(setups):.2f} s per job (not in the ratio).
"""
    write_section("Tracking overhead (MLflow server + S3)", body)
    print(body)


if __name__ == "__main__":
    main()
