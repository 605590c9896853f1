"""Loading a sweep file: validate it, resolve its base job, and try every space key on that job."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from ganforge.platform.config.loading import apply_overrides, load_job_dict, parse_override, read_yaml
from ganforge.platform.config.schema import JobConfig
from ganforge.platform.config.sweep import SweepConfig, base_job_dict, check_job, describe, trial_overrides
from ganforge.platform.errors import ConfigError

LOOP_METRICS = ("loss_d", "loss_g", "d_real", "d_fake")


@dataclass(frozen=True)
class LoadedSweep:
    sweep: SweepConfig
    base: dict[str, Any]
    """The base job with every trial's fixed overrides applied (before the space)."""
    job: JobConfig
    """`base` validated: what a trial runs when no parameter is sampled."""
    source: str


def load_sweep_file(path: str | Path, overrides: Iterable[str] = ()) -> LoadedSweep:
    """Reads and validates a sweep file; `overrides` are `--set` items on the sweep file itself.

    Raises:
        ConfigError: one line naming the file, the key and what was expected.
    """
    source = str(path)
    raw = apply_overrides(read_yaml(path), dict(parse_override(item) for item in overrides))
    try:
        sweep = SweepConfig.model_validate(raw)
    except ValidationError as error:
        raise ConfigError(f"{source}: {describe(error)}") from None
    base_raw = base_job_dict(sweep, Path(path))
    base = apply_overrides(base_raw, trial_overrides(sweep))
    job = load_job_dict(base, source=f"{source} (base job)")
    try:
        check_job(job, sweep)
    except ValueError as error:
        raise ConfigError(f"{source}: {error}") from None
    for key, dist in sweep.space.items():
        for value in dist.examples():
            load_job_dict(apply_overrides(base, {key: value}), source=f"{source}: space.{key}")
    from ganforge.platform.modality import get_modality  # torch: not at import (see loading.py)

    known = {m.name for m in get_modality(job.modality).metric_specs(job.data)} | set(LOOP_METRICS)
    if sweep.metric not in known:
        raise ConfigError(
            f"{source}: metric = {sweep.metric!r}: not reported (expected one of: {', '.join(sorted(known))})"
        )
    return LoadedSweep(sweep=sweep, base=base, job=job, source=source)
