"""What a job asks of the Ray cluster, checked before anything starts.

Ray queues a request that no node can hold and waits for an autoscaler to add one; on a fixed
cluster (the embedded local Ray, a `ray start` cluster without a launcher) that wait never ends
and prints nothing. So a request the cluster can never meet is refused here, naming the setting.
On an autoscaling cluster the wait is bounded instead: one line says what it waits for, and the
request is refused once its wait setting has passed without the nodes arriving.
"""

from __future__ import annotations

import logging
import math
import os
import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path

import ray

from ganforge.platform.config.schema import JobConfig
from ganforge.platform.config.sweep import ResourcesConfig
from ganforge.platform.errors import ConfigError

__all__ = ["AUTOSCALING_ENV", "ResourceRequest", "autoscales", "require_resources", "shortfall"]

AUTOSCALING_ENV = "GANFORGE_AUTOSCALING"
"""`1`: the cluster adds nodes on demand (never refuse); `0`: it does not (always check)."""

log = logging.getLogger("ganforge.cluster")
_EPSILON = 1e-9  # 0.1 + 0.2 GPUs must still hold a 0.3-GPU bundle


@dataclass(frozen=True)
class ResourceRequest:
    """`workers` bundles of `cpus` CPUs and `gpus` GPUs, each bundle on one node.

    The labels are the settings behind each number, as the user wrote them (`train.workers = 3`).
    """

    workers: int
    cpus: float
    gpus: float
    workers_label: str
    cpus_label: str
    gpus_label: str
    scope: str = ""
    """Appended to the amounts, e.g. " per trial"."""
    wait_s: float = 600.0
    wait_label: str = "train.resource_wait_s"
    """How long an autoscaling cluster may take to make room, and the setting that says so."""

    @classmethod
    def for_job(cls, job: JobConfig) -> ResourceRequest:
        """A Ray Train job: `train.workers` × (`train.cpus_per_worker` CPUs, 1 GPU with `use_gpu`)."""
        train = job.train
        return cls(
            workers=train.workers,
            cpus=train.cpus_per_worker,
            gpus=1 if train.use_gpu else 0,  # Ray Train's default GPU per worker
            workers_label=f"train.workers = {train.workers}",
            cpus_label=f"train.cpus_per_worker = {train.cpus_per_worker}",
            gpus_label="train.use_gpu = true",
            wait_s=train.resource_wait_s,
            wait_label="train.resource_wait_s",
        )

    @classmethod
    def for_trial(cls, resources: ResourcesConfig) -> ResourceRequest:
        """One sweep trial, as `pipelines.sweep.run` asks Tune for it: a single-worker trial is one
        bundle of `cpu` CPUs and `gpu` GPUs; a multi-worker trial nests a TorchTrainer whose
        `workers` each take `cpu` CPUs and, when `gpu > 0`, one whole GPU (`use_gpu`)."""
        nested = resources.workers > 1
        return cls(
            workers=resources.workers,
            cpus=resources.cpu,
            gpus=(1 if nested else resources.gpu) if resources.gpu > 0 else 0,
            workers_label=f"resources.workers = {resources.workers}",
            cpus_label=f"resources.cpu = {resources.cpu}",
            gpus_label=f"resources.gpu = {_number(resources.gpu)}",
            scope=" per trial",
            wait_s=resources.wait_s,
            wait_label="resources.wait_s",
        )


def require_resources(request: ResourceRequest, poll_s: float = 5.0) -> None:
    """Refuses a request the connected Ray cluster can never hold (call after `connect`).

    On an autoscaling cluster (see `autoscales`) it waits instead, up to `request.wait_s`, for
    nodes that can hold it, saying once on stderr what it waits for.

    Raises:
        ConfigError: one line naming the setting, what it needs and what the cluster has (and,
            after a wait, how long it waited).
    """
    problem = shortfall(request, _live_nodes())
    if problem is None:
        return
    if not autoscales():
        raise ConfigError(problem)
    log.warning(f"waiting up to {request.wait_s:g} s ({request.wait_label}) for the autoscaler: {problem}")
    deadline = time.monotonic() + request.wait_s
    while time.monotonic() < deadline:
        time.sleep(min(poll_s, max(deadline - time.monotonic(), 0.0)))
        problem = shortfall(request, _live_nodes())
        if problem is None:
            return
    raise ConfigError(f"{problem}; no node was added within {request.wait_label} = {request.wait_s:g} s")


def _live_nodes() -> list[Mapping[str, float]]:
    return [node.get("Resources", {}) for node in ray.nodes() if node.get("Alive")]


def autoscales() -> bool:
    """Whether the cluster can add nodes, so that a request it cannot hold now may still be met.

    `GANFORGE_AUTOSCALING=1` or `0` says so outright. Otherwise Ray's own two signs: the cluster
    config the autoscaler publishes in the GCS has a node group that can grow (Ray Data's test),
    or the cluster launcher's `~/ray_bootstrap_config.yaml` is on this (head) node (Ray Tune's).
    Without either, the cluster is taken as fixed.
    """
    setting = os.environ.get(AUTOSCALING_ENV, "").strip().lower()
    if setting in ("1", "true", "yes"):
        return True
    if setting in ("0", "false", "no"):
        return False
    if Path("~/ray_bootstrap_config.yaml").expanduser().exists():
        return True
    try:
        from ray._private.state import state

        config = state.get_cluster_config()
    except Exception:  # noqa: BLE001 - a Ray client connection has no GCS accessor: take it as fixed
        return False
    groups = config.node_group_configs if config else []
    return any(
        g.max_count == -1 or g.max_count > g.min_count for g in groups if g.resources and g.max_count != 0
    )


def shortfall(request: ResourceRequest, nodes: Iterable[Mapping[str, float]]) -> str | None:
    """The one line saying why `nodes` (each node's total resources) can never hold `request`,
    or None when they can. Each worker's bundle must fit on one node."""
    cpus = [float(node.get("CPU", 0)) for node in nodes]
    gpus = [float(node.get("GPU", 0)) for node in nodes]
    if not cpus:
        return f"{request.workers_label}: the Ray cluster has no live node"
    room = sum(_slots(request, cpu, gpu) for cpu, gpu in zip(cpus, gpus, strict=True))
    if room >= request.workers:
        return None
    has_cpus, has_gpus, scope = _has("CPU", cpus), _has("GPU", gpus), request.scope
    if request.cpus > max(cpus) + _EPSILON:
        return f"{request.cpus_label} needs {_amount(request.cpus, 'CPU')} on one node{scope}; {has_cpus}"
    if request.gpus > max(gpus) + _EPSILON:
        return f"{request.gpus_label} needs {_amount(request.gpus, 'GPU')} on one node{scope}; {has_gpus}"
    if room == 0:  # CPUs on some nodes, GPUs on others
        return f"one worker needs {_per_worker(request)} on one node{scope}; no node has both"
    for unit, each, amounts in (("CPU", request.cpus, cpus), ("GPU", request.gpus, gpus)):
        if request.workers * each > sum(amounts) + _EPSILON:
            need = f"{_amount(request.workers * each, unit)}{scope} ({_number(each)} per worker)"
            return f"{request.workers_label} needs {need}; {_has(unit, amounts)}"
    # Enough in total, but on nodes too small to hold whole workers.
    offer = f"{has_cpus}; {has_gpus}" if request.gpus else has_cpus
    return (
        f"{request.workers_label} needs {request.workers} workers{scope} of {_per_worker(request)} "
        f"on one node each; {offer}: room for {room}"
    )


def _slots(request: ResourceRequest, cpu: float, gpu: float) -> int:
    """How many of the request's workers one node with `cpu` CPUs and `gpu` GPUs can hold."""
    slots = math.floor(cpu / request.cpus + _EPSILON) if request.cpus > 0 else request.workers
    if request.gpus > 0:
        slots = min(slots, math.floor(gpu / request.gpus + _EPSILON))
    return slots


def _has(unit: str, amounts: list[float]) -> str:
    if not any(amounts):
        return f"the Ray cluster has no {unit}s"
    largest = _number(max(amounts))
    return f"the Ray cluster has {_amount(sum(amounts), unit)} in total (largest node {largest})"


def _per_worker(request: ResourceRequest) -> str:
    each = _amount(request.cpus, "CPU")
    return f"{each} and {_amount(request.gpus, 'GPU')}" if request.gpus else each


def _amount(value: float, unit: str) -> str:
    return f"{_number(value)} {unit}{'' if value == 1 else 's'}"


def _number(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else f"{value:g}"
