"""A ganforge job trained in-process for a wall-clock budget: ganforge's side of
image_vs_reference.py, the counterpart of reference_dcgan.py.

python benchmarks/ganforge_timed.py --config configs/image/digits_dcgan.yaml --seed 0 \
    --minutes 10 --out /tmp/ganforge [--threads 1] [--device cuda] [--workers 2] [--set KEY=VALUE ...]

The shipped config runs through the platform's one training loop (`train_loop`, as the local runner
runs it) with tracking off and `train.steps` out of reach (a `gan.lr_decay` without its own `steps`
still ends at the config's `train.steps`, as the config's own run would). The clock starts before
the loop reads its data, as reference_dcgan.py's does. A checkpoint is taken every `--check-every` G
steps (the state saved to a temporary folder, nothing copied); at the checkpoint nearest the
deadline (the first one with less than half a checkpoint interval left) the state is kept and the
run ends there. So the run ends within half an interval of the budget, either side (zero on
average), and the generators saved are exactly those of its last step. The interval is a trade: each
checkpoint costs the loop its EMA generator's BatchNorm re-estimate (measured on one core: 0.03 s
digits_dcgan, 0.06 s shapes_dcgan, 0.35 s shapes_resnet), about 1% of the time at 100 steps, 5% at
20. The loop's own final evaluation never runs: the harness scores both sides with the same scorer.

`--workers N` runs N data-parallel workers (torch.distributed processes, each wrapping G and D in
DDP as the Ray Train runner does, with the same per-worker batch); rank 0 decides when the budget
is spent and every rank stops at that checkpoint. Workers that share one device (N workers, fewer
GPUs, or the CPU) talk over gloo, since NCCL refuses two ranks on one GPU; otherwise NCCL.
"""

from __future__ import annotations

import argparse
import json
import os
import time
from contextlib import suppress
from pathlib import Path
from typing import Any

import torch
import torch.distributed as dist
import torch.multiprocessing as mp
from torch import nn
from torch.nn.parallel import DistributedDataParallel

from ganforge.platform.config import load_job_file, parse_override
from ganforge.platform.runners import checkpoint
from ganforge.platform.runners.context import WorkerContext
from ganforge.platform.runners.local import torch_threads
from ganforge.platform.runners.loop import train_loop

CHECK_EVERY = 100
OUT_OF_REACH = 10**9


class BudgetSpent(Exception):
    """Raised from a checkpoint report to end the loop at the budget (the state is already kept)."""


class BudgetContext(WorkerContext):
    """One worker (of `world_size`, in-process when alone) that ends the run at the checkpoint
    nearest its deadline."""

    def __init__(
        self, seconds: float, start: float, device: str = "cpu", rank: int = 0, world_size: int = 1
    ) -> None:
        self.start, self.deadline = start, start + seconds
        self.device = torch.device(device)
        self.rank, self.world_size = rank, world_size
        self.last_report = start
        self.state: dict[str, Any] = {}
        self.metrics: dict[str, Any] = {}
        self.seconds = 0.0

    def wrap(self, module: nn.Module, *, broadcast_buffers: bool = True) -> nn.Module:
        module = module.to(self.device)
        if self.world_size == 1:
            return module
        ids = [self.device.index] if self.device.type == "cuda" else None
        return DistributedDataParallel(module, device_ids=ids, broadcast_buffers=broadcast_buffers)

    def latest_checkpoint(self) -> Path | None:
        return None  # always a fresh run

    def report(self, metrics: dict[str, Any], checkpoint_dir: Path | None) -> None:
        now = time.perf_counter()
        interval, self.last_report = now - self.last_report, now
        if checkpoint_dir is None or not self._spent(now + interval / 2 >= self.deadline):
            return
        if self.is_chief:  # only the chief's checkpoint holds the state
            self.state = checkpoint.load_state(checkpoint_dir)
        self.metrics, self.seconds = metrics, now - self.start
        raise BudgetSpent

    def _spent(self, chief_says: bool) -> bool:
        """Rank 0's verdict, on every rank (all must stop at the same step)."""
        if self.world_size == 1:
            return chief_says
        verdict = torch.tensor([float(chief_says)])
        dist.broadcast(verdict, src=0)
        return bool(verdict.item())


def train_for(
    config: str,
    overrides: dict[str, Any],
    seed: int,
    seconds: float,
    threads: int,
    check_every: int = CHECK_EVERY,
    device: str = "cpu",
    rank: int = 0,
    world_size: int = 1,
    start: float | None = None,
) -> BudgetContext:
    """Trains `config` (with `overrides`) for `seconds` of wall clock; the context holds the result."""
    start = time.perf_counter() if start is None else start
    planned = load_job_file(config, overrides)
    decay = planned.gan.lr_decay
    if decay.kind != "none" and decay.steps is None:  # decay as the config's own run would
        overrides = {**overrides, "gan.lr_decay.steps": planned.train.steps}
    job = load_job_file(
        config,
        {
            **overrides,
            "tracking.enabled": False,
            "train.runner": "local",
            "train.cpus_per_worker": threads,
            "train.seed": seed,
            "train.steps": OUT_OF_REACH,
            "train.checkpoint_every": check_every,
            "train.log_every": check_every,
            "train.sample_every": 0,
            "train.eval_every": 0,
        },
    )
    ctx = BudgetContext(seconds, start, device, rank, world_size)
    with torch_threads(threads), suppress(BudgetSpent):
        train_loop(job, ctx)
    if ctx.is_chief and not ctx.state:
        raise RuntimeError("the loop ended before its budget")  # cannot happen: steps are out of reach
    return ctx


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--config", required=True)
    parser.add_argument("--set", dest="overrides", action="append", default=[], help="KEY=VALUE")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--minutes", type=float, default=10.0)
    parser.add_argument("--threads", type=int, default=1, help="torch threads (per worker)")
    parser.add_argument("--check-every", type=int, default=CHECK_EVERY, help="G steps between budget checks")
    parser.add_argument("--device", default="cpu", help="cpu or cuda")
    parser.add_argument("--workers", type=int, default=1, help="data-parallel workers")
    parser.add_argument("--out", type=Path, required=True, help="folder for generators.pt and run.json")
    args = parser.parse_args()
    start = time.perf_counter()
    if args.workers == 1:
        _worker(0, args, start)
    else:
        os.environ.setdefault("MASTER_ADDR", "127.0.0.1")
        os.environ.setdefault("MASTER_PORT", str(29500 + os.getpid() % 1000))
        mp.spawn(_worker, args=(args, start), nprocs=args.workers)


def _backend(device: str, workers: int) -> str:
    """NCCL when every worker has a GPU of its own, else gloo (NCCL refuses two ranks on one GPU)."""
    own_gpus = device == "cuda" and torch.cuda.device_count() >= workers
    return "nccl" if own_gpus else "gloo"


def _worker(rank: int, args: argparse.Namespace, start: float) -> None:
    torch.set_num_threads(args.threads)
    device = args.device
    if device == "cuda":
        device = f"cuda:{rank % torch.cuda.device_count()}"
    if args.workers > 1:
        dist.init_process_group(_backend(args.device, args.workers), rank=rank, world_size=args.workers)
    overrides = dict(parse_override(item) for item in args.overrides)
    ctx = train_for(
        args.config, overrides, args.seed, args.minutes * 60, args.threads, args.check_every,
        device, rank, args.workers, start,
    )  # fmt: skip
    if args.workers > 1:
        dist.destroy_process_group()
    if rank == 0:
        _save(args, ctx)


def _save(args: argparse.Namespace, ctx: BudgetContext) -> None:
    state = ctx.state
    args.out.mkdir(parents=True, exist_ok=True)
    generators = {key: state[key] for key in ("generator", "generator_ema")}  # on the CPU (load_state)
    torch.save(generators, args.out / "generators.pt")
    losses = {k: v for k, v in ctx.metrics.items() if k not in ("step", "step_time")}
    run = {
        "steps": int(state["step"]),
        "seconds": ctx.seconds,
        "threads": torch.get_num_threads(),
        "device": args.device,
        "workers": args.workers,
        "s_per_step_last": ctx.metrics.get("step_time"),  # the last log interval: start-up left out
        **losses,
    }
    (args.out / "run.json").write_text(json.dumps(run, indent=2))
    print(json.dumps(run), flush=True)


if __name__ == "__main__":
    main()
