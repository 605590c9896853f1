"""A sweep's search space as Ray Tune domains, PBT mutations and PB2 bounds."""

from __future__ import annotations

from typing import Any

from ray import tune

from ganforge.platform.config.sweep import Distribution


def tune_domain(dist: Distribution) -> Any:
    """The Ray Tune domain for one distribution."""
    values = dist.values
    if dist.kind == "grid":
        return tune.grid_search(list(values))
    if dist.kind == "choice":
        return tune.choice(list(values))
    if dist.kind == "uniform":
        return tune.uniform(*values)
    if dist.kind == "loguniform":
        return tune.loguniform(*values)
    return tune.randint(*values)


def param_space(space: dict[str, Distribution]) -> dict[str, Any]:
    return {key: tune_domain(dist) for key, dist in space.items()}


def pbt_mutations(space: dict[str, Distribution]) -> dict[str, Any]:
    """PBT resamples from lists and domains (grid points become choices)."""
    return {
        key: (list(d.values) if d.kind in ("grid", "choice") else tune_domain(d)) for key, d in space.items()
    }


def pb2_bounds(space: dict[str, Distribution]) -> dict[str, list[float]]:
    """PB2's GP-bandit explores within [low, high] per parameter (the config allows bounds only)."""
    return {key: [float(d.values[0]), float(d.values[1])] for key, d in space.items()}
