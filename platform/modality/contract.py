"""What a modality provides to the platform (see DESIGN.md, "Modality contract").

Losses, regularizers, EMA and the step itself are modality-agnostic and live in the platform;
a modality only knows its data, its networks, its samples and its metrics.
"""

from __future__ import annotations

import hashlib
from abc import ABC, abstractmethod
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar

import torch
from pydantic import BaseModel
from torch import nn
from torch.utils.data import Dataset


@dataclass(frozen=True)
class MetricSpec:
    """One evaluation metric and the direction in which it improves."""

    name: str
    higher_is_better: bool
    description: str = ""


class Modality(ABC):
    """Base class of a modality; subclasses are registered once as a singleton instance."""

    name: ClassVar[str]
    data_config: ClassVar[type[BaseModel]]
    model_config: ClassVar[type[BaseModel]]
    metrics: ClassVar[tuple[MetricSpec, ...]]

    @abstractmethod
    def build_generator(self, model_cfg: Any, data_cfg: Any) -> nn.Module:
        """Returns a generator mapping a batch of latents to a batch of samples."""

    @abstractmethod
    def build_discriminator(self, model_cfg: Any, data_cfg: Any) -> nn.Module:
        """Returns a discriminator mapping a batch of samples to one logit each."""

    @abstractmethod
    def load_dataset(self, data_cfg: Any) -> Dataset:
        """Returns the full real dataset as a map-style dataset of tensors."""

    @abstractmethod
    def sample_latents(
        self, model_cfg: Any, n: int, generator: torch.Generator | None = None
    ) -> torch.Tensor:
        """Draws `n` latent vectors; `generator` makes the draw reproducible."""

    @abstractmethod
    def write_samples(self, fakes: torch.Tensor, reals: torch.Tensor, out_dir: Path) -> list[Path]:
        """Turns a batch of generated samples into artifact files under `out_dir`."""

    @abstractmethod
    def evaluate(
        self, generator: nn.Module, dataset: Dataset, model_cfg: Any, data_cfg: Any, seed: int
    ) -> dict[str, float]:
        """Computes this modality's metrics (named as in `metrics`) for a generator."""

    @abstractmethod
    def tiny_config(self) -> dict[str, Any]:
        """A job config (as a dict) small enough for tests to train in seconds."""

    def fingerprint(self, dataset: Dataset) -> str:
        """A short content hash of the real data, logged as a tag and used as a cache key."""
        digest = hashlib.sha256()
        for tensor in getattr(dataset, "tensors", ()):
            digest.update(tensor.detach().cpu().contiguous().numpy().tobytes())
        return digest.hexdigest()[:16]
