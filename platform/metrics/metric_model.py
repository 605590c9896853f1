"""Learned metric models (the classifiers FID and IS are computed with) as versioned artifacts.

A modality describes how to train its metric model with a `MetricModelRecipe`; the platform
trains it deterministically, names it by (kind, metric version, data fingerprint, recipe
parameters), hashes its weights, and keeps it in the tracking store (see store.py) with a local
folder as a cache. Two scores are comparable only when they carry the same `sha256`.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import tempfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch
from torch import nn

from ganforge.platform.home import ganforge_home

WEIGHTS_FILE = "weights.pt"
CARD_FILE = "card.json"


@dataclass
class TrainedMetricModel:
    """What a recipe's `train` returns: the network, its constructor settings and its report."""

    module: nn.Module
    settings: dict[str, Any]
    """JSON-able arguments of the recipe's `build`, so a stored copy can be rebuilt empty."""
    report: dict[str, float] = field(default_factory=dict)
    """Figures about the model itself (e.g. held-out accuracy), logged beside the metrics."""


@dataclass(frozen=True)
class MetricModelRecipe:
    """How a modality's metric model is trained; the platform decides where it is kept.

    kind: what it is, e.g. `image-classifier`.
    version: the metric version; bump it whenever the network or its training changes, so old
        copies stop matching and scores of the two versions are never compared.
    fingerprint: content hash of the real data it is trained on.
    params: the recipe's own settings (steps, seed, classes): part of the name.
    train: trains from scratch; must be deterministic (run inside `deterministic_training`).
    build: an untrained network from `TrainedMetricModel.settings`, to load stored weights into.
    """

    kind: str
    version: int
    fingerprint: str
    params: dict[str, Any]
    train: Callable[[], TrainedMetricModel]
    build: Callable[[dict[str, Any]], nn.Module]
    seed: int = 0

    @property
    def metric_version(self) -> str:
        return f"{self.kind}/v{self.version}"

    @property
    def key(self) -> str:
        """The stored model's name: one per (kind, version, data fingerprint, params)."""
        digest = hashlib.sha256(json.dumps(self.params, sort_keys=True).encode()).hexdigest()[:8]
        return f"{self.kind}-v{self.version}-{self.fingerprint}-{digest}"


@dataclass(frozen=True)
class MetricModel:
    """A loaded metric model and its identity (what runs are tagged with)."""

    module: nn.Module
    key: str
    metric_version: str
    sha256: str
    report: dict[str, float]
    uri: str | None
    """`models:/<id>` in the tracking store; None when only the local cache holds it."""

    def tags(self) -> dict[str, str]:
        """Run and model-version tags: `select` compares only versions with equal `sha256`."""
        return {
            "ganforge.metric_model": self.uri or self.key,
            "ganforge.metric_model_sha256": self.sha256,
            "ganforge.metric_version": self.metric_version,
        }


def weights_sha256(module: nn.Module) -> str:
    """Content hash of a network's parameters and buffers (names, dtypes, shapes and values)."""
    digest = hashlib.sha256()
    for name, tensor in sorted(module.state_dict().items()):
        value = tensor.detach().cpu().contiguous()
        digest.update(f"{name}:{value.dtype}:{tuple(value.shape)}".encode())
        digest.update(value.numpy().tobytes() if value.numel() else b"")
    return digest.hexdigest()


@contextmanager
def deterministic_training(seed: int) -> Iterator[None]:
    """Seeded global RNG, deterministic kernels and one thread, restored afterwards.

    One thread: a CPU reduction split over a different number of threads sums in another order,
    so a node with other cores would train (slightly) different weights.
    """
    threads = torch.get_num_threads()
    strict = torch.are_deterministic_algorithms_enabled()
    with torch.random.fork_rng(), torch.enable_grad():
        torch.manual_seed(seed)
        torch.use_deterministic_algorithms(True)
        torch.set_num_threads(1)
        try:
            yield
        finally:
            torch.set_num_threads(threads)
            torch.use_deterministic_algorithms(strict)


def train_metric_model(recipe: MetricModelRecipe) -> tuple[TrainedMetricModel, str]:
    """Trains `recipe` deterministically; returns the model and its weights' hash."""
    with deterministic_training(recipe.seed):
        trained = recipe.train()
    trained.module.eval()
    return trained, weights_sha256(trained.module)


def cache_folder(key: str) -> Path:
    return ganforge_home() / "cache" / "metric-models" / key


def write_folder(folder: Path, recipe: MetricModelRecipe, trained: TrainedMetricModel, sha256: str) -> None:
    """Writes weights and card atomically (concurrent workers may write the same key)."""
    folder.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(dir=folder.parent, prefix=f".{folder.name}-"))
    torch.save({"state": trained.module.state_dict()}, staging / WEIGHTS_FILE)
    card = {
        "key": recipe.key,
        "kind": recipe.kind,
        "metric_version": recipe.metric_version,
        "fingerprint": recipe.fingerprint,
        "params": recipe.params,
        "settings": trained.settings,
        "report": trained.report,
        "sha256": sha256,
    }
    (staging / CARD_FILE).write_text(json.dumps(card, indent=2, sort_keys=True))
    try:
        os.replace(staging, folder)
    except OSError:  # another process got there first; its copy has the same weights
        shutil.rmtree(staging, ignore_errors=True)


def read_card(folder: Path) -> dict[str, Any] | None:
    try:
        return json.loads((folder / CARD_FILE).read_text())
    except (OSError, ValueError):
        return None


def load_folder(folder: Path, recipe: MetricModelRecipe, uri: str | None) -> MetricModel | None:
    """The model stored in `folder`, or None when it is missing, damaged or not this recipe's."""
    card = read_card(folder)
    if card is None or card.get("key") != recipe.key:
        return None
    module = recipe.build(card["settings"])
    try:
        module.load_state_dict(torch.load(folder / WEIGHTS_FILE, weights_only=True)["state"])
    except Exception:  # noqa: BLE001 - a damaged file fails in many ways (unpickling, zip, keys)
        return None
    module.eval()
    sha256 = weights_sha256(module)
    if sha256 != card["sha256"]:
        return None  # a damaged copy: the caller fetches or trains a good one
    return MetricModel(module, recipe.key, recipe.metric_version, sha256, card["report"], uri)
