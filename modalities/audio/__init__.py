"""The `audio` modality: WaveGAN with phase shuffle on WAV/FLAC/OGG folders or spoken digits."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

import torch
from torch import nn

from ganforge.modalities.audio.augment import AUGMENT_OPS
from ganforge.modalities.audio.classifier import classifier_recipe
from ganforge.modalities.audio.config import AudioData, AudioModel
from ganforge.modalities.audio.data import AudioClips, load_clips
from ganforge.modalities.audio.metrics import METRICS
from ganforge.modalities.audio.nets import WaveGANGenerator, wavegan_discriminator
from ganforge.modalities.audio.samples import (
    SPECTROGRAM_CLIPS,
    TRACKED_CLIPS,
    clip_name,
    write_spectrograms,
    write_strip,
    write_wav,
)
from ganforge.platform.errors import ConfigError
from ganforge.platform.gan.ada import AugmentOp
from ganforge.platform.gan.batch import Batch, labels_of, samples_of
from ganforge.platform.metrics import MetricModel, MetricModelRecipe, feature_metrics, real_halves
from ganforge.platform.modality import Modality, Prepared, SampleArtifacts

log = logging.getLogger(__name__)
EVAL_BATCH = 100


def _labels(batch: Batch) -> list[int | None]:
    labels = labels_of(batch)
    n = len(samples_of(batch))
    return [int(v) for v in labels[0].tolist()] if labels else [None] * n


def _check_classes(model_cfg: AudioModel, data: Prepared) -> None:
    """A conditional model needs labelled data with exactly `model.n_classes` classes."""
    if not model_cfg.conditional:
        return
    names = data.info["class_names"]
    if not names:
        raise ConfigError("model.conditional: the data has no class sub-folders to condition on")
    if len(names) != model_cfg.n_classes:
        raise ConfigError(f"model.n_classes = {model_cfg.n_classes}: the data has {len(names)} classes")


class AudioModality(Modality[AudioData, AudioModel, Prepared]):
    name = "audio"
    data_config = AudioData
    model_config = AudioModel
    metrics = METRICS
    # F1 of precision and recall over their real floors, as for images; `is_ratio` (WaveGAN's
    # published headline) is one `train.best_metric: is_ratio` away, but rewards confident classes
    # over coverage within them.
    ranking_metric = "quality"

    def augment_ops(self, model_cfg: AudioModel) -> tuple[AugmentOp, ...]:
        """Time shift and gain (modalities/audio/augment.py), for gan.ada."""
        return AUGMENT_OPS

    def prepare(self, data_cfg: AudioData) -> Prepared:
        clips = load_clips(data_cfg)
        info = {
            "sample_rate": data_cfg.sample_rate,
            "window": data_cfg.window,
            "class_names": list(clips.class_names),
            "format": "mono float in [-1, 1], shape (batch, 1, window); class id in the latent's last column "
            "when conditional",
        }
        return Prepared.of(clips, info)

    def build_generator(self, model_cfg: AudioModel, data: Prepared) -> nn.Module:
        _check_classes(model_cfg, data)
        return WaveGANGenerator(model_cfg, data.info["window"])

    def build_discriminator(self, model_cfg: AudioModel, data: Prepared) -> nn.Module:
        return wavegan_discriminator(model_cfg, data.info["window"])

    def sample_latents(
        self, model_cfg: AudioModel, info: dict[str, Any], n: int, generator: torch.Generator | None = None
    ) -> torch.Tensor:
        # WaveGAN draws z from U(-1, 1); the class id (as a float) rides in an extra last column.
        z = torch.rand(n, model_cfg.latent_dim, generator=generator) * 2 - 1
        if not model_cfg.conditional:
            return z
        y = torch.randint(model_cfg.n_classes, (n, 1), generator=generator).float()
        return torch.cat([z, y], dim=1)

    def write_samples(
        self, fakes: Batch, reals: Batch, out_dir: Path, info: dict[str, Any]
    ) -> SampleArtifacts:
        rate = int(info.get("sample_rate", 16_000))
        waves = samples_of(fakes)[:TRACKED_CLIPS]
        labels = _labels(fakes)[:TRACKED_CLIPS]
        files = [
            write_wav(out_dir / clip_name(i, y, info), w, rate)
            for i, (w, y) in enumerate(zip(waves, labels, strict=True))
        ]
        files.append(write_strip(out_dir / "all_generated.wav", waves, rate))
        real_waves = samples_of(reals)[:8] if reals is not None else None
        if real_waves is not None:
            files.append(write_strip(out_dir / "real_reference.wav", real_waves, rate))
        names = info.get("class_names") or []
        shown = waves[:SPECTROGRAM_CLIPS]
        titles = [  # the clip's number, as in its WAV's name, and its class when conditional
            f"#{i} {names[y]}" if y is not None and 0 <= y < len(names) else f"#{i}"
            for i, y in enumerate(labels[: len(shown)])
        ]
        image = write_spectrograms(out_dir / "spectrogram.png", shown, real_waves, rate, titles)
        return SampleArtifacts(images={"spectrogram": image}, files=files)

    def export_samples(self, fakes: Batch, out_dir: Path, info: dict[str, Any]) -> list[Path]:
        rate = int(info.get("sample_rate", 16_000))
        pairs = zip(samples_of(fakes), _labels(fakes), strict=True)
        return [write_wav(out_dir / clip_name(i, y, info), w, rate) for i, (w, y) in enumerate(pairs)]

    def metric_model(self, data: Prepared, data_cfg: AudioData) -> MetricModelRecipe | None:
        dataset = data.dataset
        if not isinstance(dataset, AudioClips) or not dataset.class_names:
            return None  # an unlabelled folder: no classes to train a classifier on
        return classifier_recipe(
            dataset.x,
            dataset.labels,
            data_cfg.sample_rate,
            len(dataset.class_names),
            data_cfg.eval.metric_seed,
            data.fingerprint,
        )

    def evaluate(
        self,
        generator: nn.Module,
        data: Prepared,
        model_cfg: AudioModel,
        data_cfg: AudioData,
        seed: int,
        scorer: MetricModel | None = None,
    ) -> dict[str, float]:
        dataset = data.dataset
        if scorer is None or not isinstance(dataset, AudioClips):
            log.warning("audio metrics need labelled data (one sub-folder per class): none computed")
            return {}
        real_a, real_b = real_halves(dataset.x, data_cfg.eval.samples, seed)
        z = self.output_latents(
            model_cfg, data.info, data_cfg.eval.samples, torch.Generator().manual_seed(seed + 1)
        )
        device = next(generator.parameters()).device
        with torch.no_grad():
            fakes = torch.cat(
                [samples_of(generator(c.to(device))).float().cpu() for c in z.split(EVAL_BATCH)]
            )
        values = feature_metrics(scorer.module, fakes, real_a, real_b, data_cfg.eval.knn, seed)  # type: ignore[arg-type]
        return {**values, **scorer.report}

    def tiny_configs(self) -> list[dict[str, Any]]:
        data = {
            "per_digit": 6,
            "sample_rate": 4000,
            "window": 1024,
            "speed_range": [250, 350],
            "eval": {"samples": 32},
        }
        model = {"model_dim": 4, "latent_dim": 16}
        train = {
            "steps": 4,
            "batch_size": 8,
            "log_every": 2,
            "checkpoint_every": 2,
            "sample_every": 2,
            "runner": "local",
        }
        gan = {"loss": "wasserstein", "gradient_penalty": 10.0, "n_critic": 2}
        unconditional = {"name": "audio-tiny", "modality": "audio", "data": data, "model": model, "gan": gan}
        conditional = {
            **unconditional,
            "name": "audio-tiny-conditional",
            "model": {**model, "conditional": True},
        }
        return [{**unconditional, "train": train}, {**conditional, "train": train}]


MODALITY = AudioModality()
