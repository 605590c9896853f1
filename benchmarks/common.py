"""Helpers shared by the benchmark scripts: running a job untracked and writing RESULTS.md."""

from __future__ import annotations

import re
import sys
import tempfile
from pathlib import Path

import torch

from ganforge.platform.config import JobConfig, load_job_file
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


def write_section(title: str, body: str) -> None:
    """Replaces (or appends) the `## title` section of RESULTS.md."""
    text = RESULTS.read_text() if RESULTS.exists() else "# Benchmark results\n"
    section = f"## {title}\n\n{body.strip()}\n"
    pattern = re.compile(rf"^## {re.escape(title)}\n.*?(?=^## |\Z)", re.S | re.M)
    text = pattern.sub(section + "\n", text) if pattern.search(text) else text.rstrip() + "\n\n" + section
    RESULTS.write_text(text)
