"""Checkpoint files: the shared training state (rank 0) and each rank's random streams."""

from __future__ import annotations

import random
from pathlib import Path
from typing import Any

import numpy as np
import torch

from ganforge.platform.config.schema import JobConfig
from ganforge.platform.modality import Prepared, get_modality

STATE_FILE = "state.pt"


def rng_file(rank: int) -> str:
    return f"rng_rank{rank}.pt"


def capture_rng(extra: dict[str, Any]) -> dict[str, Any]:
    """This process's global random states plus the loop's own streams."""
    return {
        "torch": torch.get_rng_state(),
        "numpy": np.random.get_state(),
        "python": random.getstate(),
        **extra,
    }


def restore_global_rng(state: dict[str, Any]) -> None:
    torch.set_rng_state(state["torch"])
    np.random.set_state(state["numpy"])
    random.setstate(state["python"])


def save(directory: Path, rank: int, state: dict[str, Any] | None, rng: dict[str, Any]) -> None:
    """Writes rank 0's `state` (if given) and this rank's random streams into `directory`."""
    directory.mkdir(parents=True, exist_ok=True)
    if state is not None:
        torch.save(state, directory / STATE_FILE)
    torch.save(rng, directory / rng_file(rank))


def load_state(directory: Path) -> dict[str, Any]:
    return torch.load(directory / STATE_FILE, map_location="cpu", weights_only=False)


def load_rng(directory: Path, rank: int) -> dict[str, Any] | None:
    """This rank's random streams, or None when the checkpoint came from a narrower run."""
    path = directory / rng_file(rank)
    return torch.load(path, weights_only=False) if path.exists() else None


def evaluated_generator(
    job: JobConfig, data: Prepared, state: dict[str, Any], key: str | None = None
) -> torch.nn.Module:
    """`job`'s generator rebuilt from a checkpoint `state` (or anything holding its generator
    weights), in eval mode. By default the weights the platform evaluates and registers (the EMA
    copy when EMA is on); `key` picks others."""
    key = key or ("generator_ema" if job.gan.ema.enabled else "generator")
    generator = get_modality(job.modality).build_generator(job.model, data)
    generator.load_state_dict(state[key])
    return generator.eval()
