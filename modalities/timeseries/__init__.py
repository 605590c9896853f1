"""The `timeseries` modality: continuous multivariate series.

TimeGAN (embedder, recovery, supervisor and latent discriminator, trained in three phases by
its own objective) or a temporal-convolution GAN (`convgan`, trained by the platform's
adversarial objective), on TimeGAN's sines recipe or on CSV / NPY files cut into windows.
Scored by TimeGAN's post-hoc discriminative and predictive scores. See config.py for every
option and configs/timeseries/ for ready jobs.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import torch
from torch import nn

from ganforge.modalities.timeseries.config import SeriesData, SeriesModel
from ganforge.modalities.timeseries.data import SeriesPrepared, prepare_series
from ganforge.modalities.timeseries.metrics import METRICS, discriminative_score, posthoc_scores
from ganforge.modalities.timeseries.nets import (
    ConvSeriesDiscriminator,
    ConvSeriesGenerator,
    TimeGanDiscriminator,
    TimeGanGenerator,
)
from ganforge.modalities.timeseries.objective import TimeGanObjective
from ganforge.modalities.timeseries.samples import write_series_csv, write_series_plot
from ganforge.modalities.timeseries.tiny import tiny_series
from ganforge.platform.gan import AdversarialObjective, Objective
from ganforge.platform.metrics import MetricModel
from ganforge.platform.modality import Modality, SampleArtifacts

EVAL_CHUNK = 1000  # generated windows per generator call during evaluation


def _shape(data: SeriesPrepared) -> tuple[int, int]:
    """(window length, feature count) of the prepared series."""
    return int(data.info["seq_len"]), len(data.info["columns"])


class TimeseriesModality(Modality[SeriesData, SeriesModel, SeriesPrepared]):
    name = "timeseries"
    data_config = SeriesData
    model_config = SeriesModel
    metrics = METRICS
    # 1 - 2 x discriminative score: ranks as TimeGAN's discriminative score does (its headline).
    ranking_metric = "quality"
    objectives: tuple[type[Objective], ...] = (TimeGanObjective, AdversarialObjective)

    def objective(self, model_cfg: SeriesModel) -> type[Objective]:
        return TimeGanObjective if model_cfg.method == "timegan" else AdversarialObjective

    def prepare(self, data_cfg: SeriesData) -> SeriesPrepared:
        return prepare_series(data_cfg)

    def build_generator(self, model_cfg: SeriesModel, data: SeriesPrepared) -> nn.Module:
        if model_cfg.method == "convgan":
            return ConvSeriesGenerator(model_cfg, *_shape(data))
        return TimeGanGenerator(model_cfg, *_shape(data))

    def build_discriminator(self, model_cfg: SeriesModel, data: SeriesPrepared) -> nn.Module:
        if model_cfg.method == "convgan":
            return ConvSeriesDiscriminator(model_cfg, *_shape(data))
        return TimeGanDiscriminator(model_cfg)

    def sample_latents(
        self, model_cfg: SeriesModel, info: dict[str, Any], n: int, generator: torch.Generator | None = None
    ) -> torch.Tensor:
        # TimeGAN's noise: U[0, 1), noise_dim values per time step, flattened per window.
        return torch.rand(n, int(info["seq_len"]) * model_cfg.noise_dim, generator=generator)

    def write_samples(
        self, fakes: torch.Tensor, reals: torch.Tensor, out_dir: Path, info: dict[str, Any]
    ) -> SampleArtifacts:
        return SampleArtifacts(
            images={"real_vs_generated": write_series_plot(fakes, reals, out_dir, info)},
            files=[write_series_csv(fakes, out_dir, info)],
        )

    def export_samples(self, fakes: torch.Tensor, out_dir: Path, info: dict[str, Any]) -> list[Path]:
        return [write_series_csv(fakes, out_dir, info)]

    @torch.no_grad()
    def evaluate(
        self,
        generator: nn.Module,
        data: SeriesPrepared,
        model_cfg: SeriesModel,
        data_cfg: SeriesData,
        seed: int,
        scorer: MetricModel | None = None,
    ) -> dict[str, float]:
        real, fakes = self._scored_pair(generator, data, model_cfg, data_cfg, seed)
        # The post-hoc networks train, even when the caller is under no_grad; they must not
        # disturb the training streams.
        with torch.random.fork_rng(), torch.enable_grad():
            return posthoc_scores(
                real,
                fakes,
                data_cfg.discriminative_steps,
                data_cfg.predictive_steps,
                seed,
                data_cfg.posthoc_repeats,
            )

    @torch.no_grad()
    def evaluate_periodic(
        self,
        generator: nn.Module,
        data: SeriesPrepared,
        model_cfg: SeriesModel,
        data_cfg: SeriesData,
        seed: int,
        scorer: MetricModel | None = None,
    ) -> dict[str, float]:
        """During training, one post-hoc classifier (repetition 0 of `evaluate`'s): the repeated
        classifiers and predictors cost about 50 s on a CPU, more than 5% of a shipped run."""
        real, fakes = self._scored_pair(generator, data, model_cfg, data_cfg, seed)
        with torch.random.fork_rng(), torch.enable_grad():
            score = discriminative_score(real, fakes, data_cfg.discriminative_steps, seed)
        return {"discriminative_score": score, "quality": 1.0 - 2.0 * score}

    def _scored_pair(
        self,
        generator: nn.Module,
        data: SeriesPrepared,
        model_cfg: SeriesModel,
        data_cfg: SeriesData,
        seed: int,
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """(real, generated) series for the post-hoc metrics: `data.eval_samples` of each, seeded."""
        z = self.output_latents(
            model_cfg, data.info, data_cfg.eval_samples, torch.Generator().manual_seed(seed + 1)
        )
        device = next(generator.parameters()).device
        fakes = torch.cat([generator(chunk.to(device)).float().cpu() for chunk in z.split(EVAL_CHUNK)])
        train = data.series.train
        order = torch.randperm(len(train), generator=torch.Generator().manual_seed(seed))
        return train[order[: len(fakes)]], fakes

    def tiny_configs(self) -> list[dict[str, Any]]:
        return [tiny_series("timegan"), tiny_series("convgan")]


MODALITY = TimeseriesModality()
