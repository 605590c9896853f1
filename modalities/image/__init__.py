"""The `image` modality: DCGAN and SN-ResNet GANs, class-conditional, with offline metrics."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import torch
from torch import nn

from ganforge.modalities.image.augment import ADA_OPS
from ganforge.modalities.image.config import ImageData, ImageModel
from ganforge.modalities.image.data import read_images
from ganforge.modalities.image.features import classifier_recipe
from ganforge.modalities.image.inception import InceptionFile
from ganforge.modalities.image.metrics import METRICS, metric_specs
from ganforge.modalities.image.nets import build_discriminator, build_generator
from ganforge.modalities.image.samples import export_pngs, write_grid, write_real_vs_generated
from ganforge.modalities.image.truncation import truncate_noise
from ganforge.platform.errors import ConfigError
from ganforge.platform.gan.ada import AugmentOp
from ganforge.platform.gan.batch import Batch, samples_of
from ganforge.platform.metrics import (
    FeatureExtractor,
    MetricModel,
    MetricModelRecipe,
    feature_metrics,
    real_halves,
)
from ganforge.platform.modality import MetricSpec, Modality, Prepared, SampleArtifacts


def _check_classes(model_cfg: ImageModel, data: Prepared) -> None:
    if not model_cfg.num_classes:
        return
    found = len(data.info["class_names"])
    if found != model_cfg.num_classes:
        raise ConfigError(
            f"model.num_classes = {model_cfg.num_classes}: the data has {found} class(es); "
            f"set model.num_classes to {found} (or 0 for unconditional)"
        )


class ImageModality(Modality[ImageData, ImageModel, Prepared]):
    name = "image"
    data_config = ImageData
    model_config = ImageModel
    metrics = METRICS
    # F1 of precision and recall over their real floors: FID alone rewards blur (configs/sweeps).
    ranking_metric = "quality"

    def metric_specs(self, data_cfg: ImageData) -> tuple[MetricSpec, ...]:
        return metric_specs(data_cfg)

    def augment_ops(self, model_cfg: ImageModel) -> tuple[AugmentOp, ...]:
        return tuple(ADA_OPS[name] for name in model_cfg.ada_ops)

    def prepare(self, data_cfg: ImageData) -> Prepared:
        dataset, class_names = read_images(data_cfg)
        info = {
            "layout": "NCHW",
            "value_range": [-1.0, 1.0],
            "size": data_cfg.size,
            "channels": data_cfg.n_channels,
            "class_names": class_names,
        }
        return Prepared.of(dataset, info)

    def build_generator(self, model_cfg: ImageModel, data: Prepared) -> nn.Module:
        _check_classes(model_cfg, data)
        return build_generator(model_cfg, data.info["size"], data.info["channels"])

    def build_discriminator(self, model_cfg: ImageModel, data: Prepared) -> nn.Module:
        _check_classes(model_cfg, data)
        return build_discriminator(model_cfg, data.info["size"], data.info["channels"])

    def sample_latents(
        self, model_cfg: ImageModel, info: dict[str, Any], n: int, generator: torch.Generator | None = None
    ) -> torch.Tensor:
        """N(0, I) noise; conditional models get the class id (as a float) in one more column.

        Classes are balanced within the batch (a random rotation of 0..K-1), so the fixed
        latents of the sample grid cover every class.
        """
        z = torch.randn(n, model_cfg.latent_dim, generator=generator)
        k = model_cfg.num_classes
        if not k:
            return z
        offset = torch.randint(k, (1,), generator=generator)
        labels = (torch.arange(n) + offset) % k
        return torch.cat([z, labels.float()[:, None]], dim=1)

    def output_latents(
        self, model_cfg: ImageModel, info: dict[str, Any], n: int, generator: torch.Generator | None = None
    ) -> torch.Tensor:
        """The training draw, its noise truncated where `model.truncation` is set (the class
        column of a conditional model stays as drawn)."""
        z = self.sample_latents(model_cfg, info, n, generator)
        if model_cfg.truncation is None:
            return z
        noise = truncate_noise(z[:, : model_cfg.latent_dim], model_cfg.truncation, generator)
        return torch.cat([noise, z[:, model_cfg.latent_dim :]], dim=1)

    def write_samples(
        self, fakes: Batch, reals: Batch, out_dir: Path, info: dict[str, Any]
    ) -> SampleArtifacts:
        names = info.get("class_names", [])
        grid = write_grid(fakes, out_dir, len(names), class_names=names)
        pair = write_real_vs_generated(fakes, reals, out_dir)
        return SampleArtifacts(images={"samples": grid, "real_vs_generated": pair})

    def export_samples(self, fakes: Batch, out_dir: Path, info: dict[str, Any]) -> list[Path]:
        return export_pngs(fakes, out_dir, info)

    def metric_model(self, data: Prepared, data_cfg: ImageData) -> MetricModelRecipe | None:
        if data_cfg.eval.inception is not None:
            return None  # the user's Inception file is the metric model
        x, y = data.dataset.tensors  # type: ignore[attr-defined]
        steps, seed = data_cfg.eval.classifier_steps, data_cfg.eval.metric_seed
        return classifier_recipe(x, y, steps, seed, data.fingerprint)

    def evaluate(
        self,
        generator: nn.Module,
        data: Prepared,
        model_cfg: ImageModel,
        data_cfg: ImageData,
        seed: int,
        scorer: MetricModel | None = None,
    ) -> dict[str, float]:
        x, _ = data.dataset.tensors  # type: ignore[attr-defined]
        extractor: FeatureExtractor
        if data_cfg.eval.inception is not None:
            extractor, extra = InceptionFile(data_cfg.eval.inception), {}
        elif scorer is None:
            raise ValueError("image metrics need the resolved metric model (platform/metrics)")
        else:
            extractor, extra = scorer.module, scorer.report  # type: ignore[assignment]
        real_a, real_b = real_halves(x, data_cfg.eval.samples, seed)
        z = self.output_latents(model_cfg, data.info, len(real_a), torch.Generator().manual_seed(seed + 1))
        device = next(generator.parameters()).device
        with torch.no_grad():
            fakes = torch.cat([samples_of(generator(c.to(device))).float().cpu() for c in z.split(500)])
        return {**feature_metrics(extractor, fakes, real_a, real_b, data_cfg.eval.knn, seed), **extra}

    def tiny_configs(self) -> list[dict[str, Any]]:
        """DCGAN on a small shapes set (DiffAugment, BN in D); conditional SN-ResNet on digits;
        DCGAN with adaptive augmentation (every op; p moves 0.1 per D step, so it moves in seconds)."""
        train = {
            "steps": 20,
            "batch_size": 16,
            "log_every": 5,
            "checkpoint_every": 10,
            "sample_every": 10,
            "runner": "local",
        }
        small_eval = {"samples": 64, "classifier_steps": 20}
        small_shapes = {"dataset": "shapes", "size": 16, "n_samples": 256, "eval": small_eval}
        small_nets = {"latent_dim": 16, "g_channels": 8, "d_channels": 8}
        return [
            {
                "name": "image-tiny",
                "modality": "image",
                "data": small_shapes,
                "model": {
                    "arch": "dcgan",
                    **small_nets,
                    "d_norm": "batch",
                    "diffaugment": "color,translation,cutout",
                },
                "train": train,
            },
            {
                "name": "image-tiny-conditional",
                "modality": "image",
                "data": {"dataset": "digits", "size": 8, "eval": small_eval},
                "model": {"arch": "resnet", **small_nets, "num_classes": 10},
                "gan": {"loss": "hinge", "spectral_norm": True},
                "train": train,
            },
            {
                "name": "image-tiny-ada",
                "modality": "image",
                "data": small_shapes,
                "model": {"arch": "dcgan", **small_nets, "ada_ops": list(ADA_OPS)},
                # target 0: p rises whenever D calls most reals real, so the ops run from the start.
                "gan": {"ada": {"enabled": True, "target": 0.0, "interval": 1, "speed_images": 160}},
                "train": train,
            },
        ]


MODALITY = ImageModality()
