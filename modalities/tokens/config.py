"""Config models of the `tokens` modality: discrete sequences (the SeqGAN oracle, text, token ids)."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Annotated, Literal

from pydantic import AfterValidator, Field, model_validator

from ganforge.platform.config.paths import existing_file
from ganforge.platform.config.schema import OptimizerConfig, StrictModel

FILE_DATASETS = ("text", "token_ids")
REGISTERED_START = re.compile(r"^models:/[^/@]+(/\d+|@[\w-]+)$")


class TokenData(StrictModel):
    """Where the real sequences come from and how they are cut and held out."""

    dataset: Literal["oracle", "text", "token_ids"] = "oracle"
    """Built-in `oracle` (SeqGAN's synthetic LSTM), or a user file: `text` (one sequence per line)
    or `token_ids` (whitespace-separated integer ids per line)."""
    path: existing_file() | None = None  # type: ignore[valid-type]
    """The user file of `text` and `token_ids` (all of it is training data when heldout_path is set)."""
    heldout_path: existing_file() | None = None  # type: ignore[valid-type]
    """`text` / `token_ids`: a file of held-out sequences, in data.path's format, for the metrics
    (held-out NLL, BLEU) instead of holding out heldout_fraction of data.path. A text vocabulary
    covers both files. Not with heldout_fraction."""
    seq_len: Annotated[int, Field(ge=2, le=1024)] = 20
    """Tokens per sequence (text lines are padded/truncated); the generator produces this many."""
    n_samples: Annotated[int, Field(ge=16, le=10_000_000)] = 10_000
    """Training sequences of the oracle (10,000 as in SeqGAN)."""
    heldout_fraction: Annotated[float, Field(gt=0.0, lt=0.9)] = 0.1
    """Share of the real sequences held out for metrics (the oracle draws that many extra)."""
    seed: Annotated[int, Field(ge=0)] = 88
    """Seed of the oracle (weights and samples) and of the split."""
    eval_samples: Annotated[int, Field(ge=16, le=100_000)] = 2000
    """Generated sequences the metrics use (bounded so evaluation stays fast)."""
    vocab_size: Annotated[int, Field(ge=2, le=1_000_000)] | None = None
    """Oracle vocabulary (default 5,000 as in SeqGAN); token_ids files: at least max id + 1
    (default: max id + 1)."""
    oracle_embed: Annotated[int, Field(ge=1)] = 32
    oracle_hidden: Annotated[int, Field(ge=1)] = 32
    oracle_weights: existing_file(".pkl", ".pickle", ".npz", what="a .pkl or .npz file") | None = None  # type: ignore[valid-type]
    """`oracle`: the published oracle's weights instead of a seeded random one, so the oracle NLL
    is the papers': LantaoYu/SeqGAN's `save/target_params_py3.pkl` (a pickled list of 15 numpy
    arrays), or an `.npz` of the same arrays named as its target_lstm.py does (g_embeddings, Wi,
    Ui, bi, Wf, Uf, bf, Wog, Uog, bog, Wc, Uc, bc, Wo, bo) or saved in that order
    (`np.savez(file, *params)`). The vocabulary and widths come from the arrays (vocab_size, if
    set, must agree; oracle_embed/oracle_hidden are not used); data.seed still draws the
    training and held-out sequences from it. Read locally: nothing is downloaded."""
    tokenizer: Literal["char", "word"] = "char"
    lowercase: bool = False
    max_vocab: Annotated[int, Field(ge=4)] | None = None
    """Word vocabularies keep the most frequent tokens; the rest become `<unk>`."""

    @model_validator(mode="after")
    def _file_needs_path(self) -> TokenData:
        if self.dataset in FILE_DATASETS and self.path is None:
            raise ValueError(f"dataset {self.dataset!r} needs data.path")
        if self.heldout_path is not None:
            if self.dataset not in FILE_DATASETS:
                raise ValueError(
                    f"heldout_path is for text and token_ids files; {self.dataset!r} holds out its own"
                )
            if "heldout_fraction" in self.model_fields_set:
                raise ValueError(
                    "heldout_path and heldout_fraction both set: give one (the file, or the share)"
                )
        if self.oracle_weights is not None and self.dataset != "oracle":
            raise ValueError(f"oracle_weights is for dataset 'oracle', not {self.dataset!r}")
        return self


def _weights(source: str | Path) -> str | Path:
    if isinstance(source, str) and source.startswith("models:/"):
        if REGISTERED_START.match(source) is None:
            raise ValueError("expected models:/NAME/VERSION or models:/NAME@ALIAS")
        return source
    path = Path(source)
    if not (path.is_file() or (path / "state.pt").is_file()):
        raise ValueError("no such weights file or checkpoint folder (with state.pt)")
    return path.resolve()


MLE_OPT = OptimizerConfig(lr=1e-2, betas=(0.9, 0.999))
"""SeqGAN's MLE pre-training optimizer: Adam at 0.01 with PyTorch's default betas."""


class TokenModel(StrictModel):
    """Networks and training method (defaults follow SeqGAN)."""

    method: Literal["mle", "seqgan", "gumbel"] = "seqgan"
    """`mle` (teacher forcing only), `seqgan` (policy gradient with Monte-Carlo rollouts) or
    `gumbel` (RelGAN-style Gumbel-softmax)."""
    hidden_dim: Annotated[int, Field(ge=1, le=4096)] = 32
    """Recurrent width of the generator (SeqGAN: 32)."""
    init_std: Annotated[float, Field(gt=0.0, le=1.0)] | None = None
    """Draw every generator weight and bias from N(0, init_std), as SeqGAN's code does (0.1),
    instead of PyTorch's defaults (embeddings N(0, 1), recurrent and output layers uniform in
    +-1/sqrt(width)). None: PyTorch's."""
    init_generator: Annotated[str | Path, AfterValidator(_weights)] | None = None
    """Start G from a generator with the same settings, e.g. an MLE run reused by several
    adversarial runs: a registered model (`models:/NAME/VERSION` or `models:/NAME@ALIAS` of a
    tokens job tracked since issue 17), whose run also hands over the MLE phase's Adam state, so
    MLE continues where it stopped; or weights only, from a checkpoint folder (its `state.pt`) or a
    `.pt` state dict. Then set pretrain_steps to 0 to skip MLE, or to d_pretrain_steps to pretrain
    D while MLE goes on (resuming this job's own checkpoint restores its own state instead)."""
    pretrain_steps: Annotated[int, Field(ge=0)] = 1000
    """MLE (teacher forcing) steps before the adversarial phase; counted in train.steps."""
    mle_opt: OptimizerConfig = MLE_OPT
    """Optimizer of the MLE phase (and of every step of `mle`); the adversarial phase uses gan.g_opt."""
    cell: Literal["lstm", "gru"] = "lstm"
    embed_dim: Annotated[int, Field(ge=1, le=4096)] = 32
    d_embed_dim: Annotated[int, Field(ge=1, le=4096)] = 64
    d_filter_sizes: tuple[Annotated[int, Field(ge=1)], ...] = (2, 3, 4, 5, 10, 15, 20)
    """Widths of the CNN discriminator's filters (SeqGAN); widths above data.seq_len are dropped."""
    d_num_filters: Annotated[int, Field(ge=1)] = 64
    d_dropout: Annotated[float, Field(ge=0.0, lt=1.0)] = 0.25
    d_pretrain_steps: Annotated[int, Field(ge=0)] = 500
    """D trains against G's samples during the last k MLE steps, so that rewards start informative."""
    rollouts: Annotated[int, Field(ge=1, le=256)] = 16
    """SeqGAN: Monte-Carlo completions per prefix."""
    temperature_max: Annotated[float, Field(ge=1.0)] = 100.0
    """Gumbel: final inverse temperature beta of the soft one-hot samples (RelGAN: 100 or 1000)."""
    temperature_schedule: Literal["exp", "linear", "constant"] = "exp"
    mle_weight: Annotated[float, Field(ge=0.0)] = 0.0
    """Weight of a teacher-forcing term added to the adversarial generator loss (0: pure GAN)."""
