"""Helpers shared by the benchmark scripts: running a job untracked and writing RESULTS.md."""

from __future__ import annotations

import argparse
import datetime
import json
import re
import sys
import tempfile
import time
from collections.abc import Callable
from contextlib import AbstractContextManager, nullcontext
from pathlib import Path
from typing import Any

import torch

from ganforge.platform.config import JobConfig, load_job_file, parse_override
from ganforge.platform.modality import Prepared, get_modality
from ganforge.platform.runners.local import run_local

RESULTS = Path(__file__).with_name("RESULTS.md")


def load_untracked(config: str, overrides: dict) -> JobConfig:
    """A job from a shipped config, with tracking off so only training is measured.

    A local run uses `train.cpus_per_worker` torch threads; here that is this process's thread
    count (what each benchmark reports and `--threads` sets), unless an override says otherwise.
    """
    threads = {"train.cpus_per_worker": torch.get_num_threads()}
    return load_job_file(config, {"tracking.enabled": False, **threads, **overrides})


def train_local(job: JobConfig) -> dict[str, float]:
    """Trains in-process into a throw-away checkpoint folder; returns the final metrics."""
    with tempfile.TemporaryDirectory() as tmp:
        metrics, _ = run_local(job, Path(tmp))
    return metrics


def command_line() -> str:
    return "python " + " ".join(["benchmarks/" + Path(sys.argv[0]).name, *sys.argv[1:]])


def device_name(device: str) -> str:
    """The accelerator's name for a results title ("NVIDIA H200"), or the device as given."""
    if device.startswith("cuda") and torch.cuda.is_available():
        return torch.cuda.get_device_name(torch.device(device))
    return device


def write_section(title: str, body: str) -> None:
    """Appends a `## title` section to RESULTS.md; where one of that title exists, the new one is
    dated. Never replaces: a section holds the prose written under its table, later sessions' too."""
    text = RESULTS.read_text() if RESULTS.exists() else "# Benchmark results\n"
    if re.search(rf"^## {re.escape(title)}$", text, re.M):
        title = f"{title}, {datetime.date.today().isoformat()}"
    RESULTS.write_text(text.rstrip() + f"\n\n## {title}\n\n{body.strip()}\n")


# ---- the reference scripts' shared command line (reference_dcgan.py, reference_wavegan.py) -------


def reference_parser(description: str, modality: str) -> argparse.ArgumentParser:
    """The options every reference script takes; each adds its own size options."""
    parser = argparse.ArgumentParser(
        description=description, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--config", required=True, help=f"a ganforge {modality} job: its data section is used"
    )
    parser.add_argument("--set", dest="overrides", action="append", default=[], help="ganforge KEY=VALUE")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--minutes", type=float, default=10.0)
    parser.add_argument("--threads", type=int, default=1, help="torch threads")
    parser.add_argument("--device", default="cpu", help="cpu or cuda")
    parser.add_argument("--out", type=Path, required=True, help="folder for generator.pt and run.json")
    parser.add_argument(
        "--bf16",
        action="store_true",
        help="losses and forward passes under torch.autocast(bfloat16), weights and optimizer states fp32: "
        "what ganforge's gan.precision: bf16 does (the harnesses pass it when the job sets that)",
    )
    return parser


def forward_precision(bf16: bool, device: str) -> AbstractContextManager:
    """The context a reference computes its losses in: bf16 autocast as ganforge's `gan.precision:
    bf16` (objective.autocast), or nothing. Backward passes and optimizer steps stay outside it."""
    return (
        torch.autocast(device_type=torch.device(device).type, dtype=torch.bfloat16) if bf16 else nullcontext()
    )


def reference_data(args: argparse.Namespace, modality: str) -> tuple[Prepared, torch.Tensor, float]:
    """(the prepared data, its tensor, the clock's start): the budget includes reading the data,
    as on ganforge's side."""
    torch.set_num_threads(args.threads)
    start = time.perf_counter()
    job = load_job_file(args.config, dict(parse_override(item) for item in args.overrides))
    data = get_modality(modality).prepare(job.data)
    return data, data.dataset.tensors[0], start  # type: ignore[attr-defined]


def save_reference(out: Path, net: torch.nn.Module, data: Prepared, run: dict[str, Any]) -> None:
    """generator.pt and run.json (with the data fingerprint the harness checks)."""
    out.mkdir(parents=True, exist_ok=True)
    torch.save(net.state_dict(), out / "generator.pt")
    run = {**run, "fingerprint": data.fingerprint, "threads": torch.get_num_threads()}
    (out / "run.json").write_text(json.dumps(run, indent=2))
    print(json.dumps(run), flush=True)


def step_timer(job: JobConfig, parts: Any, first_step: int = 0) -> Callable[[int], float]:
    """A function that runs `n` G steps of the job's objective (numbered on from `first_step`, which
    picks a phase for objectives that have them) and returns seconds per step."""
    objective, sampler, batch_size = parts.objective, parts.sampler, job.train.batch_size
    step = [first_step]

    def latents() -> torch.Tensor:
        return parts.modality.sample_latents(job.model, parts.data.info, batch_size, parts.latents)

    def run(n: int) -> float:
        start = time.perf_counter()
        for _ in range(n):
            step[0] += 1
            objective.start_step(step[0])
            real = sampler.next_batch(batch_size)
            objective.discriminator_step(real, latents(), step[0])
            objective.generator_step(latents(), real)
        return (time.perf_counter() - start) / n

    return run


def ab_timing_parser(doc: str, steps: int, steps_help: str) -> argparse.ArgumentParser:
    """The command line of an A/B step-time benchmark: configs, steps per round, rounds, threads."""
    parser = argparse.ArgumentParser(description=doc, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("configs", nargs="*", type=Path)
    parser.add_argument("--steps", type=int, default=steps, help=steps_help)
    parser.add_argument("--rounds", type=int, default=4)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--no-write", action="store_true")
    return parser
