"""What a modality provides to the platform (see DESIGN.md, "Modality contract").

A modality is typed by its own config models, `Modality[DataCfg, ModelCfg, DataT]`, and knows
its data, its networks, its samples and its metrics. `prepare` loads the data once; what it
returns is handed to the builders, the evaluator and (as `info`) to the sample writers. Losses,
regularizers, EMA and the optimizers live in the platform; a modality may add objectives.
"""

from __future__ import annotations

import hashlib
from abc import ABC, abstractmethod
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar, Generic, TypeVar

import torch
from torch import nn
from torch.utils.data import Dataset

from ganforge.platform.gan.ada import AugmentOp
from ganforge.platform.gan.batch import Batch
from ganforge.platform.gan.objective import Objective
from ganforge.platform.gan.step import AdversarialObjective

if TYPE_CHECKING:  # platform.metrics imports MetricSpec from here; config imports the registry
    from ganforge.platform.config.schema import StrictModel
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


def fingerprint_dataset(dataset: Dataset) -> str:
    """A short content hash of any map-style dataset.

    A TensorDataset hashes its tensors' bytes (the key metric models were stored under before
    other datasets were supported); any other dataset hashes every tensor of every item, in
    order, with its dtype and shape.
    """
    digest = hashlib.sha256()
    tensors = getattr(dataset, "tensors", None)
    if tensors is not None:
        for tensor in tensors:
            digest.update(tensor.detach().cpu().contiguous().numpy().tobytes())
        return digest.hexdigest()[:16]
    for index in range(len(dataset)):  # type: ignore[arg-type]
        item = dataset[index]
        for part in item if isinstance(item, tuple | list) else (item,):
            value = torch.as_tensor(part).detach().cpu().contiguous()
            digest.update(f"{value.dtype}{tuple(value.shape)}".encode())
            digest.update(value.numpy().tobytes())
    return digest.hexdigest()[:16]


@dataclass(frozen=True)
class Prepared:
    """A job's real data, loaded once by `Modality.prepare`.

    dataset: the training set as a map-style dataset of tensors (or (x, y) pairs).
    info: JSON-able facts needed to decode generator output (vocabulary, scaling, sample rate);
        saved with the registered model, so `ganforge generate` needs nothing but the model.
    fingerprint: a short content hash of the data: a run tag and the metric models' cache key.
    A modality that knows more (a held-out split, an oracle) subclasses this.
    """

    dataset: Dataset
    info: dict[str, Any]
    fingerprint: str

    @classmethod
    def of(cls, dataset: Dataset, info: dict[str, Any] | None = None) -> Prepared:
        return cls(dataset, info or {}, fingerprint_dataset(dataset))


def tiny_train(**changes: Any) -> dict[str, Any]:
    """The `train` section of a seconds-long test job (local runner, a checkpoint mid-way)."""
    return {
        "steps": 6,
        "batch_size": 16,
        "log_every": 2,
        "checkpoint_every": 3,
        "sample_every": 3,
        "runner": "local",
        **changes,
    }


DataCfg = TypeVar("DataCfg", bound="StrictModel")
ModelCfg = TypeVar("ModelCfg", bound="StrictModel")
DataT = TypeVar("DataT", bound=Prepared)


class Modality(ABC, Generic[DataCfg, ModelCfg, DataT]):
    """Base class of a modality; subclasses are registered once as a singleton instance."""

    name: ClassVar[str]
    data_config: ClassVar[type[StrictModel]]
    model_config: ClassVar[type[StrictModel]]
    metrics: ClassVar[tuple[MetricSpec, ...]]
    ranking_metric: ClassVar[str]
    """The headline metric (one of `metrics`) that ranks a run's evaluations: it picks the run's
    best step and best checkpoint. Its direction is its MetricSpec's; a job may name another
    with `train.best_metric`."""
    objectives: ClassVar[tuple[type[Objective], ...]] = (AdversarialObjective,)
    """Every objective this modality's jobs can train with; `objective` picks one per job."""

    @abstractmethod
    def prepare(self, data_cfg: DataCfg) -> DataT:
        """Loads the real data once (user files or a built-in offline set).

        Raises:
            DataError / ConfigError (or OSError, ValueError) naming what is wrong with the data.
        """

    @abstractmethod
    def build_generator(self, model_cfg: ModelCfg, data: DataT) -> nn.Module:
        """Returns a generator mapping a batch of latents to a batch of samples.

        It must be exportable with `torch.export` for a dynamic batch size (the registry stores
        it in MLflow's pt2 format). Conditional generators return `(x, y)` (see gan/batch.py).
        """

    @abstractmethod
    def build_discriminator(self, model_cfg: ModelCfg, data: DataT) -> nn.Module:
        """Returns a discriminator mapping a batch of samples to one logit each."""

    @abstractmethod
    def sample_latents(
        self, model_cfg: ModelCfg, info: dict[str, Any], n: int, generator: torch.Generator | None = None
    ) -> torch.Tensor:
        """Draws `n` latent vectors; `generator` makes the draw reproducible.

        `info` is the prepared data's facts (a sequence generator's latent has one entry per step).
        """

    def output_latents(
        self, model_cfg: ModelCfg, info: dict[str, Any], n: int, generator: torch.Generator | None = None
    ) -> torch.Tensor:
        """Latents for what a person sees or a score reads: evaluation, sample grids, the registered
        version's card, `ganforge generate`. Training always draws `sample_latents`; a modality may
        narrow these (the image modality's truncation trick). Default: the training draw."""
        return self.sample_latents(model_cfg, info, n, generator)

    def objective(self, model_cfg: ModelCfg) -> type[Objective]:
        """The objective a job with `model_cfg` trains with (default: the first of `objectives`)."""
        return self.objectives[0]

    def augment_ops(self, model_cfg: ModelCfg) -> tuple[AugmentOp, ...]:
        """The differentiable augmentations adaptive augmentation (gan.ada) may apply to D's inputs.

        Each op maps a batch of samples, as D takes them (labels stay apart), to a batch of the same
        shape, drawing its parameters per sample from torch's global generator (checkpointed, so a
        resume replays the draws); the platform keeps each op's result for a sample with
        probability p (platform/gan/ada.py). G's gradient flows through the ops. They read sizes
        from the batch, so they need no prepared data: the loader can refuse gan.ada for a job
        whose modality returns none before anything starts. Default: none.
        """
        return ()

    def metric_specs(self, data_cfg: DataCfg) -> tuple[MetricSpec, ...]:
        """The metrics `evaluate` reports for jobs on `data_cfg` (default: all of `metrics`)."""
        return self.metrics

    def ranking_spec(self, data_cfg: DataCfg, name: str | None = None) -> MetricSpec:
        """The metric that ranks evaluations of jobs on `data_cfg`: `name` (a job's
        `train.best_metric`), else `ranking_metric`.

        Raises:
            ValueError: that metric is not one `evaluate` reports for `data_cfg`.
        """
        wanted = name or self.ranking_metric
        specs = self.metric_specs(data_cfg)
        for spec in specs:
            if spec.name == wanted:
                return spec
        known = ", ".join(spec.name for spec in specs)
        raise ValueError(
            f"{wanted!r} is not reported by {self.name} jobs on this data (expected one of: {known})"
        )

    @abstractmethod
    def write_samples(
        self, fakes: Batch, reals: Batch, out_dir: Path, info: dict[str, Any]
    ) -> SampleArtifacts:
        """Turns a batch of generated samples (and reals for comparison) into tracked artifacts."""

    @abstractmethod
    def export_samples(self, fakes: Batch, out_dir: Path, info: dict[str, Any]) -> list[Path]:
        """Writes generated samples as files in the modality's format (PNG, WAV, text, CSV)."""

    def metric_model(self, data: DataT, data_cfg: DataCfg) -> MetricModelRecipe | None:
        """How to train the learned model this modality's metrics need (None: they need none).

        The platform trains it once per (data fingerprint, metric version), stores it in the
        tracking store and hands the loaded copy to `evaluate` (platform/metrics/store.py).
        """
        return None

    @abstractmethod
    def evaluate(
        self,
        generator: nn.Module,
        data: DataT,
        model_cfg: ModelCfg,
        data_cfg: DataCfg,
        seed: int,
        scorer: MetricModel | None = None,
    ) -> dict[str, float]:
        """Computes this modality's metrics (named as in `metrics`) for a generator.

        `scorer` is the resolved `metric_model` (None when the modality declares none).
        """

    def evaluate_periodic(
        self,
        generator: nn.Module,
        data: DataT,
        model_cfg: ModelCfg,
        data_cfg: DataCfg,
        seed: int,
        scorer: MetricModel | None = None,
    ) -> dict[str, float]:
        """The metrics computed every `train.eval_every` steps during training (default: all of
        `evaluate`'s). A modality whose metrics cost too much to repeat returns a cheaper subset,
        named as in `metrics` and holding `ranking_metric`; the final evaluation is the full one.
        """
        return self.evaluate(generator, data, model_cfg, data_cfg, seed, scorer)

    @abstractmethod
    def tiny_configs(self) -> list[dict[str, Any]]:
        """Job configs (as dicts) small enough for tests to train in seconds: at least one per
        objective and per kind of data the modality has. The first is the default."""

    def tiny_config(self) -> dict[str, Any]:
        """The default tiny config (the first of `tiny_configs`)."""
        return self.tiny_configs()[0]
