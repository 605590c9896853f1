"""The `tokens` modality: discrete sequences (the SeqGAN oracle, text, files of token ids).

An LSTM/GRU generator pre-trained by MLE, then trained adversarially by SeqGAN's policy
gradient or RelGAN-style Gumbel-softmax (objective.py). See config.py for every option and
configs/tokens/ for ready jobs.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
from torch import nn
from torch.utils.data import TensorDataset

from ganforge.modalities.tokens import metrics
from ganforge.modalities.tokens.config import TokenData, TokenModel
from ganforge.modalities.tokens.data import TokenCorpus, load_corpus
from ganforge.modalities.tokens.nets import TokenDiscriminator, TokenGenerator
from ganforge.modalities.tokens.objective import OBJECTIVES, MleObjective
from ganforge.modalities.tokens.samples import text_table, write_html_table, write_text
from ganforge.modalities.tokens.start import load_generator_weights
from ganforge.modalities.tokens.tiny import tiny_tokens
from ganforge.platform.gan import Objective
from ganforge.platform.metrics import MetricModel
from ganforge.platform.modality import MetricSpec, Modality, Prepared, SampleArtifacts, fingerprint_dataset

BLEU_SAMPLES = 1000  # generated sequences scored by BLEU / self-BLEU (bounded: it is Python code)


@dataclass(frozen=True)
class TokenPrepared(Prepared):
    """The prepared corpus: training ids as the dataset, plus held-out ids and the oracle."""

    corpus: TokenCorpus | None = None


class TokensModality(Modality[TokenData, TokenModel, TokenPrepared]):
    name = "tokens"
    data_config = TokenData
    model_config = TokenModel
    metrics = (metrics.ORACLE_METRIC, *metrics.TOKEN_METRICS)
    # exp(-heldout_nll): ranks as held-out NLL does, and is reported for oracle and text data alike;
    # oracle NLL alone rewards a generator that drops modes.
    ranking_metric = "quality"
    objectives: tuple[type[Objective], ...] = tuple(OBJECTIVES.values())

    def objective(self, model_cfg: TokenModel) -> type[MleObjective]:
        return OBJECTIVES[model_cfg.method]

    def metric_specs(self, data_cfg: TokenData) -> tuple[MetricSpec, ...]:
        oracle = (metrics.ORACLE_METRIC,) if data_cfg.dataset == "oracle" else ()
        return (*oracle, *metrics.TOKEN_METRICS)

    def prepare(self, data_cfg: TokenData) -> TokenPrepared:
        corpus = load_corpus(data_cfg)
        dataset = TensorDataset(corpus.train)
        info = {
            "seq_len": data_cfg.seq_len,
            "tokenizer": corpus.tokenizer,
            "pad_id": corpus.pad_id,
            "vocab_size": corpus.vocab_size,
            "vocab": list(corpus.vocab) if corpus.vocab is not None else None,
        }
        return TokenPrepared(dataset, info, fingerprint_dataset(dataset), corpus)

    def build_generator(self, model_cfg: TokenModel, data: TokenPrepared) -> nn.Module:
        generator = TokenGenerator(model_cfg, data.info["vocab_size"], data.info["seq_len"])
        if model_cfg.init_generator is not None:
            load_generator_weights(generator, model_cfg.init_generator)
        return generator

    def build_discriminator(self, model_cfg: TokenModel, data: TokenPrepared) -> nn.Module:
        return TokenDiscriminator(model_cfg, data.info["vocab_size"], data.info["seq_len"])

    def sample_latents(
        self, model_cfg: TokenModel, info: dict[str, Any], n: int, generator: torch.Generator | None = None
    ) -> torch.Tensor:
        # One uniform per position: G turns each into a token by inverse-CDF sampling.
        return torch.rand(n, int(info["seq_len"]), generator=generator)

    def write_samples(
        self, fakes: torch.Tensor, reals: torch.Tensor, out_dir: Path, info: dict[str, Any]
    ) -> SampleArtifacts:
        return SampleArtifacts(
            files=[write_text(fakes, out_dir, info), write_html_table(fakes, reals, out_dir, info)],
            tables={"samples": text_table(fakes, reals, info)},
        )

    def export_samples(self, fakes: torch.Tensor, out_dir: Path, info: dict[str, Any]) -> list[Path]:
        return [write_text(fakes, out_dir, info)]

    @torch.no_grad()
    def evaluate(
        self,
        generator: nn.Module,
        data: TokenPrepared,
        model_cfg: TokenModel,
        data_cfg: TokenData,
        seed: int,
        scorer: MetricModel | None = None,
    ) -> dict[str, float]:
        corpus = data.corpus
        assert corpus is not None  # prepare() always sets it
        z = self.output_latents(
            model_cfg, data.info, data_cfg.eval_samples, torch.Generator().manual_seed(seed + 1)
        )
        device = next(generator.parameters()).device
        fakes = torch.cat([generator(chunk.to(device)).cpu() for chunk in z.split(1000)])
        values = {}
        if corpus.oracle is not None:
            values["oracle_nll"] = corpus.oracle.nll(fakes)
        values["heldout_nll"] = metrics.heldout_nll(generator, corpus.heldout)  # type: ignore[arg-type]
        values["quality"] = metrics.quality(values["heldout_nll"])  # heldout_nll is already per token
        hypotheses = metrics.trim(fakes[:BLEU_SAMPLES], corpus.pad_id)
        references = metrics.trim(corpus.heldout, corpus.pad_id)
        values["bleu4"] = metrics.bleu(hypotheses, references)
        values["self_bleu4"] = metrics.self_bleu(hypotheses, BLEU_SAMPLES)
        return values

    def tiny_configs(self) -> list[dict[str, Any]]:
        return [tiny_tokens(method) for method in OBJECTIVES if method != "mle"] + [tiny_tokens("mle")]


MODALITY = TokensModality()
