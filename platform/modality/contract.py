"""What a modality provides to the platform (see DESIGN.md, "Modality contract").

Losses, regularizers, EMA and the step itself are modality-agnostic and live in the platform;
a modality only knows its data, its networks, its samples and its metrics.
"""

from __future__ import annotations

import hashlib
from abc import ABC, abstractmethod
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar

import torch
from pydantic import BaseModel
from torch import nn
from torch.utils.data import Dataset

from ganforge.platform.gan.batch import Batch
from ganforge.platform.gan.step import AdversarialStep, GanNets

if TYPE_CHECKING:  # platform.metrics imports MetricSpec from here
    from ganforge.platform.metrics.metric_model import MetricModel, MetricModelRecipe


@dataclass(frozen=True)
class MetricSpec:
    """One evaluation metric and the direction in which it improves."""

    name: str
    higher_is_better: bool
    description: str = ""


@dataclass
class SampleArtifacts:
    """One batch of samples as the MLflow UI shows it best (see DESIGN.md, "Tracking").

    images: key -> PNG file, logged with `mlflow.log_image(key=..., step=...)` so that the UI's
        image view scrubs through training (image grids; spectrograms; plots).
    files: other files (WAV, CSV, text), logged as artifacts under `samples/step_XXXXXXX/`.
    tables: name -> columns (equal-length lists), logged with `mlflow.log_table`.
    """

    images: dict[str, Path] = field(default_factory=dict)
    files: list[Path] = field(default_factory=list)
    tables: dict[str, dict[str, list[Any]]] = field(default_factory=dict)

    def is_empty(self) -> bool:
        return not (self.images or self.files or self.tables)


class Modality(ABC):
    """Base class of a modality; subclasses are registered once as a singleton instance."""

    name: ClassVar[str]
    data_config: ClassVar[type[BaseModel]]
    model_config: ClassVar[type[BaseModel]]
    metrics: ClassVar[tuple[MetricSpec, ...]]

    @abstractmethod
    def build_generator(self, model_cfg: Any, data_cfg: Any) -> nn.Module:
        """Returns a generator mapping a batch of latents to a batch of samples.

        It must be exportable with `torch.export` for a dynamic batch size (the registry stores
        it in MLflow's pt2 format). Conditional generators return `(x, y)` (see gan/batch.py).
        """

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

    def metric_specs(self, data_cfg: Any) -> tuple[MetricSpec, ...]:
        """The metrics `evaluate` reports for jobs on `data_cfg` (default: all of `metrics`).

        Override where they depend on the data (e.g. token vs continuous sequences); `metrics`
        then lists every metric the modality can report.
        """
        return self.metrics

    def describe_samples(self, dataset: Dataset, data_cfg: Any) -> dict[str, Any]:
        """JSON-able facts needed to decode generator output: vocabulary, scaling, sample rate.

        Saved in the registered model's metadata, so that `ganforge generate` needs nothing
        but the model. The loop passes the same dict to `write_samples`.
        """
        return {}

    @abstractmethod
    def write_samples(
        self, fakes: Batch, reals: Batch, out_dir: Path, info: dict[str, Any]
    ) -> SampleArtifacts:
        """Turns a batch of generated samples (and reals for comparison) into tracked artifacts."""

    @abstractmethod
    def export_samples(self, fakes: Batch, out_dir: Path, info: dict[str, Any]) -> list[Path]:
        """Writes generated samples as files in the modality's format (PNG, WAV, text, CSV)."""

    def make_step(
        self,
        job: Any,
        nets: GanNets,
        opt_g: torch.optim.Optimizer,
        opt_d: torch.optim.Optimizer,
        device: torch.device,
    ) -> AdversarialStep:
        """The adversarial step for `job`; override for a modality-specific objective."""
        return AdversarialStep(job.gan, nets, opt_g, opt_d, device)

    def metric_model(self, dataset: Dataset, data_cfg: Any) -> MetricModelRecipe | None:
        """How to train the learned model this modality's metrics need (None: they need none).

        The platform trains it once per (data fingerprint, metric version), stores it in the
        tracking store and hands the loaded copy to `evaluate` (platform/metrics/store.py).
        """
        return None

    @abstractmethod
    def evaluate(
        self,
        generator: nn.Module,
        dataset: Dataset,
        model_cfg: Any,
        data_cfg: Any,
        seed: int,
        scorer: MetricModel | None = None,
    ) -> dict[str, float]:
        """Computes this modality's metrics (named as in `metrics`) for a generator.

        `scorer` is the resolved `metric_model` (None when the modality declares none).
        """

    @abstractmethod
    def tiny_config(self) -> dict[str, Any]:
        """A job config (as a dict) small enough for tests to train in seconds."""

    def tiny_configs(self) -> list[dict[str, Any]]:
        """Every tiny config the conformance tests run: one per kind of data the modality has."""
        return [self.tiny_config()]

    def fingerprint(self, dataset: Dataset) -> str:
        """A short content hash of the real data, logged as a tag and used as a cache key."""
        digest = hashlib.sha256()
        for tensor in getattr(dataset, "tensors", ()):
            digest.update(tensor.detach().cpu().contiguous().numpy().tobytes())
        return digest.hexdigest()[:16]
