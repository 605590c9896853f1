"""The `sequence` modality: discrete token sequences and continuous multivariate series.

Tokens (`data.kind: tokens`): an LSTM/GRU generator pre-trained by MLE, then trained
adversarially by SeqGAN's policy gradient or RelGAN-style Gumbel-softmax, on the SeqGAN oracle,
text files or files of token ids. Series (`data.kind: series`): TimeGAN or a temporal-convolution
GAN (`convgan`) on the sines recipe or CSV/NPY files. See config.py for every option and
configs/sequence/ for ready jobs.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import torch
from torch import nn
from torch.utils.data import Dataset, TensorDataset

from ganforge.modalities.sequence import series_metrics, token_metrics
from ganforge.modalities.sequence.config import SequenceData, SequenceModel, check_model
from ganforge.modalities.sequence.samples import (
    text_table,
    write_series_csv,
    write_series_plot,
    write_text,
)
from ganforge.modalities.sequence.series_data import series_set
from ganforge.modalities.sequence.series_nets import (
    ConvSeriesDiscriminator,
    ConvSeriesGenerator,
    TimeGanDiscriminator,
    TimeGanGenerator,
)
from ganforge.modalities.sequence.series_step import TimeGanStep
from ganforge.modalities.sequence.tiny import tiny_series, tiny_tokens
from ganforge.modalities.sequence.token_data import token_corpus
from ganforge.modalities.sequence.token_nets import TokenDiscriminator, TokenGenerator
from ganforge.modalities.sequence.token_step import TokenStep
from ganforge.platform.errors import ConfigError
from ganforge.platform.gan import AdversarialStep, GanNets
from ganforge.platform.metrics import MetricModel
from ganforge.platform.modality import MetricSpec, Modality, SampleArtifacts

BLEU_SAMPLES = 1000  # generated sequences scored by BLEU / self-BLEU (bounded: it is Python code)


def load_generator_weights(generator: nn.Module, path: Path) -> None:
    """Loads G's weights from a checkpoint folder or a state-dict file (model.init_generator)."""
    file = path / "state.pt" if path.is_dir() else path
    state = torch.load(file, map_location="cpu", weights_only=False)
    state = state.get("generator", state) if isinstance(state, dict) else state
    try:
        generator.load_state_dict(state)
    except (RuntimeError, KeyError) as error:
        first = str(error).strip().splitlines()[0]
        raise ConfigError(
            f"model.init_generator = {str(path)!r}: weights do not fit this generator ({first})"
        ) from None


def metric_specs(data_cfg: SequenceData) -> tuple[MetricSpec, ...]:
    """The metrics a job on `data_cfg` reports (they differ by kind, and the oracle has its own)."""
    if not data_cfg.is_tokens:
        return series_metrics.SERIES_METRICS
    oracle = (token_metrics.ORACLE_METRIC,) if data_cfg.dataset == "oracle" else ()
    return (*oracle, *token_metrics.TOKEN_METRICS)


class SequenceModality(Modality):
    name = "sequence"
    data_config = SequenceData
    model_config = SequenceModel

    # Every metric either kind reports, each name once: both kinds declare their own `quality`.
    metrics = tuple(
        {
            m.name: m
            for m in (
                token_metrics.ORACLE_METRIC,
                *token_metrics.TOKEN_METRICS,
                *series_metrics.SERIES_METRICS,
            )
        }.values()
    )

    def metric_specs(self, data_cfg: SequenceData) -> tuple[MetricSpec, ...]:
        return metric_specs(data_cfg)

    def build_generator(self, model_cfg: SequenceModel, data_cfg: SequenceData) -> nn.Module:
        check_model(model_cfg, data_cfg)
        if data_cfg.is_tokens:
            generator: nn.Module = TokenGenerator(model_cfg, token_corpus(data_cfg).vocab_size)
        elif model_cfg.method == "convgan":
            generator = ConvSeriesGenerator(model_cfg, series_set(data_cfg).train.shape[2])
        else:
            generator = TimeGanGenerator(model_cfg, series_set(data_cfg).train.shape[2])
        if model_cfg.init_generator is not None:
            load_generator_weights(generator, model_cfg.init_generator)
        return generator

    def build_discriminator(self, model_cfg: SequenceModel, data_cfg: SequenceData) -> nn.Module:
        check_model(model_cfg, data_cfg)
        if data_cfg.is_tokens:
            return TokenDiscriminator(model_cfg, token_corpus(data_cfg).vocab_size)
        if model_cfg.method == "convgan":
            return ConvSeriesDiscriminator(model_cfg, series_set(data_cfg).train.shape[2])
        return TimeGanDiscriminator(model_cfg)

    def load_dataset(self, data_cfg: SequenceData) -> Dataset:
        real = token_corpus(data_cfg).train if data_cfg.is_tokens else series_set(data_cfg).train
        return TensorDataset(real)

    def sample_latents(
        self, model_cfg: SequenceModel, n: int, generator: torch.Generator | None = None
    ) -> torch.Tensor:
        # Uniform noise: inverse-CDF draws for tokens, TimeGAN's U[0, 1) noise for series.
        return torch.rand(n, model_cfg.latent_dim, generator=generator)

    def make_step(
        self,
        job: Any,
        nets: GanNets,
        opt_g: torch.optim.Optimizer,
        opt_d: torch.optim.Optimizer,
        device: torch.device,
    ) -> AdversarialStep:
        check_model(job.model, job.data)
        if job.data.is_tokens:
            return TokenStep(job, nets, opt_g, opt_d, device)
        if job.model.method == "convgan":
            return super().make_step(job, nets, opt_g, opt_d, device)  # the platform's own step
        return TimeGanStep(job, nets, opt_g, opt_d, device)

    def describe_samples(self, dataset: Dataset, data_cfg: SequenceData) -> dict[str, Any]:
        if data_cfg.is_tokens:
            corpus = token_corpus(data_cfg)
            vocab = list(corpus.vocab) if corpus.vocab is not None else None
            return {"kind": "tokens", "seq_len": data_cfg.seq_len, "tokenizer": corpus.tokenizer,
                    "pad_id": corpus.pad_id, "vocab_size": corpus.vocab_size, "vocab": vocab}  # fmt: skip
        series = series_set(data_cfg)
        return {"kind": "series", "seq_len": data_cfg.seq_len, "columns": list(series.columns),
                "min": list(series.minimum), "max": list(series.maximum)}  # fmt: skip

    def write_samples(
        self, fakes: torch.Tensor, reals: torch.Tensor, out_dir: Path, info: dict[str, Any]
    ) -> SampleArtifacts:
        if info["kind"] == "tokens":
            return SampleArtifacts(
                files=[write_text(fakes, out_dir, info)], tables={"samples": text_table(fakes, reals, info)}
            )
        return SampleArtifacts(
            images={"real_vs_generated": write_series_plot(fakes, reals, out_dir, info)},
            files=[write_series_csv(fakes, out_dir, info)],
        )

    def export_samples(self, fakes: torch.Tensor, out_dir: Path, info: dict[str, Any]) -> list[Path]:
        if info["kind"] == "tokens":
            return [write_text(fakes, out_dir, info)]
        return [write_series_csv(fakes, out_dir, info)]

    @torch.no_grad()
    def evaluate(
        self,
        generator: nn.Module,
        dataset: Dataset,
        model_cfg: SequenceModel,
        data_cfg: SequenceData,
        seed: int,
        scorer: MetricModel | None = None,
    ) -> dict[str, float]:
        z = self.sample_latents(model_cfg, data_cfg.eval_samples, torch.Generator().manual_seed(seed + 1))
        device = next(generator.parameters()).device
        fakes = torch.cat([generator(chunk.to(device)).cpu() for chunk in z.split(1000)])
        with torch.random.fork_rng():  # post-hoc models must not disturb the training streams
            if data_cfg.is_tokens:
                return _token_metrics(generator, fakes, data_cfg)
            return _series_metrics(fakes, data_cfg, seed)

    def tiny_config(self) -> dict[str, Any]:
        return tiny_tokens()

    def tiny_configs(self) -> list[dict[str, Any]]:
        return [tiny_tokens(), tiny_series(), tiny_series("convgan")]


def _token_metrics(generator: nn.Module, fakes: torch.Tensor, data_cfg: SequenceData) -> dict[str, float]:
    corpus = token_corpus(data_cfg)
    values = {}
    if corpus.oracle is not None:
        values["oracle_nll"] = corpus.oracle.nll(fakes)
    values["heldout_nll"] = token_metrics.heldout_nll(generator, corpus.heldout)  # type: ignore[arg-type]
    values["quality"] = token_metrics.quality(values["heldout_nll"])  # heldout_nll is already per token
    hypotheses = token_metrics.trim(fakes[:BLEU_SAMPLES], corpus.pad_id)
    references = token_metrics.trim(corpus.heldout, corpus.pad_id)
    values["bleu4"] = token_metrics.bleu(hypotheses, references)
    values["self_bleu4"] = token_metrics.self_bleu(hypotheses, BLEU_SAMPLES)
    return values


def _series_metrics(fakes: torch.Tensor, data_cfg: SequenceData, seed: int) -> dict[str, float]:
    train = series_set(data_cfg).train
    real = train[torch.randperm(len(train), generator=torch.Generator().manual_seed(seed))[: len(fakes)]]
    with torch.enable_grad():  # the post-hoc networks train, even when the caller is under no_grad
        return series_metrics.posthoc_scores(
            real,
            fakes,
            data_cfg.discriminative_steps,
            data_cfg.predictive_steps,
            seed,
            data_cfg.posthoc_repeats,
        )


MODALITY = SequenceModality()
