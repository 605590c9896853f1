"""Periodic evaluation cost of each shipped config: one evaluation against the time per G step.

For every config it trains a few G steps in-process (tracking off) and times the loop's periodic
evaluation (`platform/runners/loop.py` `_evaluate`: the modality's `evaluate_periodic` metrics on
the EMA generator) once, with the metric model already resolved: a run resolves it once.
Phased objectives (tokens' MLE pre-training, TimeGAN's embedding and supervised phases) are timed
twice, in the first phase and in the adversarial one, and the run's wall time is estimated from
both. The share is the periodic evaluations' time (the final one runs anyway) over that wall time,
at the config's `train.eval_every`; `suggested` is the smallest multiple of checkpoint_every whose
share stays under 5%.

    python benchmarks/eval_cost.py [--steps 10] [--threads 1] [--set KEY=VALUE] [CONFIG ...]
    (default: every shipped config)
"""

from __future__ import annotations

import argparse
import json
import math
import tempfile
import time
from pathlib import Path
from typing import Any

from ganforge.platform.config.loading import load_job_file, parse_override
from ganforge.platform.config.schema import JobConfig
from ganforge.platform.runners import loop
from ganforge.platform.runners.local import LocalContext, torch_threads

ROOT = Path(__file__).resolve().parent.parent
SHIPPED = ("toy", "image", "audio", "tokens", "timeseries")
BUDGET = 0.05


def first_phase(job: JobConfig) -> tuple[int, dict[str, Any]]:
    """(steps of the cheap first phase, overrides that skip it) for a phased objective."""
    model = job.model
    if job.modality == "tokens" and getattr(model, "method", "mle") != "mle":
        return model.pretrain_steps, {"model.pretrain_steps": 0, "model.d_pretrain_steps": 0}
    if job.modality == "timeseries" and getattr(model, "method", "") == "timegan":
        steps = model.embedding_steps + model.supervised_steps
        return steps, {"model.embedding_steps": 0, "model.supervised_steps": 0}
    return 0, {}


def measure(
    config: Path, steps: int, threads: int, overrides: dict[str, Any], evaluate: bool = True
) -> tuple[float, float]:
    """(seconds per G step over `steps` steps, seconds of one evaluation; 0 when not `evaluate`)."""
    job = load_job_file(
        config,
        {
            **overrides,
            "tracking.enabled": False,
            "train.runner": "local",
            "train.workers": 1,
            "train.cpus_per_worker": threads,
            "train.steps": steps,
            "train.log_every": steps,
            "train.checkpoint_every": steps,
            "train.sample_every": 0,
            "train.eval_every": 0,
        },
    )
    timings: list[float] = [0.0]
    original = loop._evaluate

    def timed(job: JobConfig, parts: Any, final: bool = True) -> dict[str, float]:
        if not evaluate:
            return {}
        if parts.metric_model is not None:
            parts.metric_model()  # resolved (or trained and cached) once per run: not an evaluation's cost
        start = time.perf_counter()
        values = original(job, parts, False)  # the periodic evaluation (the final one runs anyway)
        timings[0] = time.perf_counter() - start
        return values

    loop._evaluate = timed
    try:
        with torch_threads(threads), tempfile.TemporaryDirectory() as tmp:
            metrics = loop.train_loop(job, LocalContext(Path(tmp)))
    finally:
        loop._evaluate = original
    return metrics["step_time"], timings[0]


def report(config: Path, steps: int, threads: int, overrides: dict[str, Any]) -> dict[str, Any]:
    job = load_job_file(config)
    phase_steps, skip_phase = first_phase(job)
    step_s, eval_s = measure(config, steps, threads, overrides)
    if skip_phase:
        late_step_s = measure(config, steps, threads, {**overrides, **skip_phase}, evaluate=False)[0]
    else:
        late_step_s = step_s
    train = job.train
    wall_s = phase_steps * step_s + (train.steps - phase_steps) * late_step_s
    periodic = (train.steps - 1) // train.eval_every if train.eval_every else 0
    every = train.checkpoint_every
    needed = eval_s / (BUDGET * wall_s / train.steps)  # G steps between evaluations for a 5% share
    suggested = max(every, math.ceil(needed / every) * every)
    return {
        "config": str(config.relative_to(ROOT)),
        "steps": train.steps,
        "checkpoint_every": every,
        "eval_every": train.eval_every,
        "step_s": round(step_s, 4),
        "late_step_s": round(late_step_s, 4),
        "eval_s": round(eval_s, 2),
        "wall_min": round(wall_s / 60, 1),
        "share_pct": round(100 * periodic * eval_s / wall_s, 2),
        "suggested": suggested if suggested < train.steps else 0,
    }


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("configs", nargs="*", type=Path)
    parser.add_argument("--steps", type=int, default=10, help="G steps timed per config")
    parser.add_argument("--threads", type=int, default=1, help="torch threads (shipped configs: 1)")
    parser.add_argument("--set", dest="overrides", action="append", default=[], help="KEY=VALUE")
    args = parser.parse_args()
    overrides = dict(parse_override(item) for item in args.overrides)
    configs = args.configs or [
        p for name in SHIPPED for p in sorted((ROOT / "configs" / name).glob("*.yaml"))
    ]
    for config in configs:
        print(json.dumps(report(config.resolve(), args.steps, args.threads, overrides)), flush=True)


if __name__ == "__main__":
    main()
