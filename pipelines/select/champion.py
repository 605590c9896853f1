"""Champion selection: every registered version from the experiment's finished runs, ranked."""

from __future__ import annotations

import math
from collections import Counter
from dataclasses import dataclass, replace
from typing import Literal

from mlflow.exceptions import MlflowException
from mlflow.tracking import MlflowClient

from ganforge.platform.errors import TrackingError
from ganforge.platform.tracking.registry import version_metric

SHA_TAG = "ganforge.metric_model_sha256"


@dataclass(frozen=True)
class Candidate:
    model_name: str
    version: str
    run_id: str
    run_name: str
    value: float | None
    aliases: tuple[str, ...]
    metric_model: str | None = None
    """sha256 of the metric model the value was computed with (None: no learned metric model)."""
    created: int = 0
    """The version's creation time (ms since the epoch)."""


@dataclass(frozen=True)
class Ranking:
    """The ranked candidates (best first) and the registered models left out of the ranking."""

    candidates: list[Candidate]
    left_out: dict[str, int]
    """model name -> how many of its versions were not ranked (another model's: not comparable)."""


def _runs(client: MlflowClient, experiment: str, filter_string: str | None) -> list:
    found = client.get_experiment_by_name(experiment)
    if found is None:
        raise TrackingError(f"experiment '{experiment}' does not exist")
    # Failed and running runs never registered a complete version; only finished ones compete.
    query = "attributes.status = 'FINISHED'"
    if filter_string:
        query = f"{query} and {filter_string}"
    try:
        return client.search_runs([found.experiment_id], filter_string=query, max_results=5000)
    except MlflowException as error:
        message = str(error).splitlines()[0][:200]
        raise TrackingError(f"--filter {filter_string!r}: {message}") from None


def _sort_key(candidate: Candidate, mode: str) -> tuple[bool, float]:
    value = candidate.value
    if value is None or math.isnan(value):
        return (True, 0.0)  # versions without the metric go last
    return (False, value if mode == "min" else -value)


def select_champion(
    tracking_uri: str,
    experiment: str,
    metric: str,
    mode: Literal["min", "max"],
    alias: str | None = "champion",
    filter_string: str | None = None,
    model: str | None = None,
    all_models: bool = False,
) -> Ranking:
    """Ranks candidate versions (best first) and points `alias` at the best one.

    Only versions of one registered model compete, since two models of one experiment may have
    learned different data: `model`, else the one registered most recently. `all_models` ranks
    every model's versions together. A version's value is its `metric.NAME` tag (set at
    registration, refreshed by `ganforge evaluate`), else its run's final metric. `alias=None`
    only ranks.

    Raises:
        TrackingError: unknown experiment or model, a bad filter, or no version has the metric.
    """
    client = MlflowClient(tracking_uri=tracking_uri)
    found = _candidates(client, experiment, filter_string, metric)
    where = f"experiment '{experiment}'" + (f" matching {filter_string!r}" if filter_string else "")
    if model is not None and not any(c.model_name == model for c in found):
        raise TrackingError(f"--model {model}: no version of it was registered by a finished run in {where}")
    chosen = None if all_models else model or _newest_model(found)
    candidates = [c for c in found if chosen is None or c.model_name == chosen]
    left_out = dict(Counter(c.model_name for c in found if chosen is not None and c.model_name != chosen))
    _check_one_ruler([c for c in candidates if c.value is not None], metric)
    candidates.sort(key=lambda c: _sort_key(c, mode))
    if not candidates or candidates[0].value is None:
        of = f" of model '{chosen}'" if chosen else ""
        raise TrackingError(f"no registered version{of} in {where} has metric '{metric}'")
    if alias:
        best = candidates[0]
        client.set_registered_model_alias(best.model_name, alias, best.version)
        candidates = [_moved(c, alias, c is best, best.model_name) for c in candidates]
    return Ranking(candidates, left_out)


def _candidates(
    client: MlflowClient, experiment: str, filter_string: str | None, metric: str
) -> list[Candidate]:
    """Every version registered from the experiment's finished runs (matching the filter)."""
    candidates = []
    for run in _runs(client, experiment, filter_string):
        for version in client.search_model_versions(f"run_id = '{run.info.run_id}'"):
            candidates.append(
                Candidate(
                    model_name=version.name,
                    version=str(version.version),
                    run_id=run.info.run_id,
                    run_name=run.info.run_name or "",
                    value=version_metric(version, run.data.metrics, metric),
                    aliases=tuple(version.aliases or ()),
                    metric_model=version.tags.get(SHA_TAG) or run.data.tags.get(SHA_TAG),
                    created=int(version.creation_timestamp or 0),
                )
            )
    return candidates


def _newest_model(candidates: list[Candidate]) -> str | None:
    """The registered model with the most recent version (None when there is no candidate)."""
    return max(candidates, key=lambda c: c.created).model_name if candidates else None


def _check_one_ruler(candidates: list[Candidate], metric: str) -> None:
    """Refuses to rank values read with different metric models: they are not comparable.

    Raises:
        TrackingError: naming the versions of each metric model.
    """
    groups: dict[str, list[str]] = {}
    for c in candidates:
        groups.setdefault(c.metric_model or "none", []).append(f"{c.model_name}/{c.version}")
    if len(groups) > 1:
        listed = "; ".join(f"{sha[:12]}: {', '.join(names)}" for sha, names in sorted(groups.items()))
        raise TrackingError(
            f"'{metric}' of these versions was computed with different metric models ({listed}); "
            "rescore them with `ganforge evaluate` or narrow the candidates with --filter"
        )


def _moved(candidate: Candidate, alias: str, is_best: bool, model_name: str) -> Candidate:
    """The candidate's aliases after `alias` moved to the best version of `model_name`."""
    aliases = [a for a in candidate.aliases if not (a == alias and candidate.model_name == model_name)]
    return replace(candidate, aliases=tuple([*aliases, alias] if is_best else aliases))
