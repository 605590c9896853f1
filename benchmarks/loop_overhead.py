"""Runner overhead: the ganforge loop against a hand-written PyTorch loop, side by side.

    python benchmarks/loop_overhead.py [--steps 1500] [--repeats 3]

All three train the same nets, batch and losses from configs/toy/grid25.yaml (tracking off),
interleaved A/B/C per repeat so machine noise hits them alike. Throughput is steady-state G
steps per second after a warm-up; the figures are ratios to the hand-written loop.
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from pathlib import Path

import torch
import torch.nn.functional as F
from common import command_line, load_untracked, write_section

from ganforge.modalities.toy import MODALITY
from ganforge.platform.cluster.connect import connect
from ganforge.platform.config import JobConfig
from ganforge.platform.gan import make_ema_copy, update_ema
from ganforge.platform.gan.ema import ema_beta
from ganforge.platform.runners.local import run_local
from ganforge.platform.runners.ray_train import run_ray_train

CONFIG = "configs/toy/grid25.yaml"
WARMUP_FRACTION = 0.2


def hand_written(job: JobConfig) -> float:
    """The loop a user would write by hand: D step, G step, EMA. Returns steps/s."""
    torch.manual_seed(job.train.seed)
    prepared = MODALITY.prepare(job.data)
    g = MODALITY.build_generator(job.model, prepared)
    d = MODALITY.build_discriminator(job.model, prepared)
    ema = make_ema_copy(g)
    data = prepared.dataset.tensors[0]
    opt_g = torch.optim.Adam(g.parameters(), job.gan.g_opt.lr, job.gan.g_opt.betas)
    opt_d = torch.optim.Adam(d.parameters(), job.gan.d_opt.lr, job.gan.d_opt.betas)
    batch, steps = job.train.batch_size, job.train.steps
    warmup = int(steps * WARMUP_FRACTION)
    for step in range(steps):
        if step == warmup:
            start = time.perf_counter()
        real = data[torch.randint(len(data), (batch,))]
        fake = g(torch.randn(batch, job.model.latent_dim))
        loss_d = F.softplus(-d(real)).mean() + F.softplus(d(fake.detach())).mean()
        opt_d.zero_grad(set_to_none=True)
        loss_d.backward()
        opt_d.step()
        d.requires_grad_(False)
        loss_g = F.softplus(-d(g(torch.randn(batch, job.model.latent_dim)))).mean()
        opt_g.zero_grad(set_to_none=True)
        loss_g.backward()
        opt_g.step()
        d.requires_grad_(True)
        update_ema(ema, g, ema_beta(step + 1, job.gan.ema.decay, job.gan.ema.rampup))
    return (steps - warmup) / (time.perf_counter() - start)


class StepTimes:
    """Collects the loop's own per-interval step times after the warm-up."""

    def __init__(self, steps: int) -> None:
        self.warmup = int(steps * WARMUP_FRACTION)
        self.times: list[float] = []

    def __call__(self, step: int, metrics: dict[str, float]) -> None:
        if step > self.warmup:
            self.times.append(metrics["step_time"])

    def throughput(self) -> float:
        return 1.0 / statistics.mean(self.times)


def ganforge_local(job: JobConfig) -> float:
    times = StepTimes(job.train.steps)
    with tempfile.TemporaryDirectory() as tmp:
        run_local(job, Path(tmp), on_progress=times)
    return times.throughput()


def ganforge_ray(job: JobConfig) -> float:
    times = StepTimes(job.train.steps)
    with tempfile.TemporaryDirectory() as tmp:
        run_ray_train(job, tmp, "overhead", on_progress=times)
    return times.throughput()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--steps", type=int, default=1500)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    threads = torch.get_num_threads()
    job = load_untracked(
        CONFIG,
        # The Ray worker gets as many CPUs (so torch threads) as this process uses.
        {
            "train.steps": args.steps,
            "train.workers": 1,
            "train.sample_every": 0,
            "train.cpus_per_worker": threads,
        },
    )
    connect(num_cpus=2)
    runs: dict[str, list[float]] = {"hand-written": [], "in-process": [], "ray-train-1": []}
    for repeat in range(args.repeats):
        runs["hand-written"].append(hand_written(job))
        runs["in-process"].append(ganforge_local(job))
        runs["ray-train-1"].append(ganforge_ray(job))
        print(repeat, {k: round(v[-1], 2) for k, v in runs.items()}, flush=True)
    base = statistics.median(runs["hand-written"])
    targets = {"hand-written": "", "in-process": ">= 0.97", "ray-train-1": ">= 0.9"}
    rows = [
        f"| {name} | {statistics.median(values):.1f} | {statistics.median(values) / base:.3f} | "
        f"{targets[name]} | {', '.join(f'{v:.1f}' for v in values)} |"
        for name, values in runs.items()
    ]
    body = (
        f"Command: `{command_line()}` — {CONFIG}, batch {job.train.batch_size}, {args.steps} G steps, "
        f"first {WARMUP_FRACTION:.0%} excluded, checkpoints every {job.train.checkpoint_every} steps, "
        "tracking off, 2 CPU cores, medians of interleaved repeats.\n\n"
        "| loop | steps/s | ratio to hand-written | target | per repeat |\n|---|---|---|---|---|\n"
        + "\n".join(rows)
    )
    print(body)
    write_section("Runner overhead (issue 2)", body)


if __name__ == "__main__":
    main()
