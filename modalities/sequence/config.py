"""Config models of the sequence modality: discrete tokens and continuous multivariate series.

One data model and one model model serve both kinds (the platform builds each section from a
single class with defaults). `data.kind` says which kind a job is; it is inferred from
`data.dataset` when left out. Fields that only one kind uses are refused for the other, so a
typo such as `tokenizer` on a sines job fails before anything starts.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, Literal

from pydantic import Field, field_validator, model_validator

from ganforge.platform.config.schema import JobSection, StrictModel

if TYPE_CHECKING:
    from ganforge.platform.config.schema import JobConfig

Kind = Literal["tokens", "series"]
TOKEN_DATASETS = ("oracle", "text", "token_ids")
SERIES_DATASETS = ("sines", "csv", "npy")
SERIES_METHODS = ("timegan", "convgan")
FILE_SUFFIXES = {"text": None, "token_ids": None, "csv": {".csv"}, "npy": {".npy"}}

# Fields used by one kind only; the other kind refuses them when they are set explicitly.
TOKEN_DATA_FIELDS = {"vocab_size", "oracle_embed", "oracle_hidden", "tokenizer", "lowercase", "max_vocab"}
SERIES_DATA_FIELDS = {
    "features", "csv_header", "stride", "discriminative_steps", "predictive_steps", "posthoc_repeats",
}  # fmt: skip
TOKEN_MODEL_FIELDS = {
    "cell", "embed_dim", "d_embed_dim", "d_filter_sizes", "d_num_filters", "d_dropout",
    "pretrain_lr", "d_pretrain_steps", "rollouts", "temperature_max", "temperature_schedule",
    "mle_weight",
}  # fmt: skip
SERIES_MODEL_FIELDS = {"num_layers", "noise_dim", "supervised_steps", "gamma", "moment_weight"}


def kind_of(dataset: str) -> Kind:
    return "tokens" if dataset in TOKEN_DATASETS else "series"


def _refuse_foreign(model: StrictModel, kind: Kind, token_fields: set[str], series_fields: set[str]) -> None:
    # Only values that differ from the default: a dumped config (all keys) must load again.
    foreign = series_fields if kind == "tokens" else token_fields
    defaults = type(model).model_fields
    wrong = sorted(name for name in foreign if getattr(model, name) != defaults[name].default)
    if wrong:
        raise ValueError(f"{wrong[0]!r} is not used for kind {kind!r} sequences")


class SequenceData(StrictModel):
    """Where the real sequences come from and how they are cut and held out."""

    kind: Kind | None = None
    """`tokens` (discrete) or `series` (continuous); inferred from `dataset` when left out."""
    dataset: Literal["oracle", "text", "token_ids", "sines", "csv", "npy"] = "oracle"
    """Built-in `oracle` (SeqGAN synthetic LSTM) and `sines` (TimeGAN), or a user file:
    `text` (one sequence per line), `token_ids` (whitespace-separated integer ids per line),
    `csv` / `npy` (a (time, features) table cut into windows)."""
    path: Path | None = None
    seq_len: Annotated[int, Field(ge=2, le=1024)] = 20
    """Tokens per sequence (text lines are padded/truncated) or window length T of a series."""
    n_samples: Annotated[int, Field(ge=16, le=10_000_000)] = 10_000
    """Training sequences of a built-in set (oracle: 10,000 as in SeqGAN; sines: 10,000)."""
    heldout_fraction: Annotated[float, Field(gt=0.0, lt=0.9)] = 0.1
    """Share of the real sequences held out for metrics (built-in sets draw that many extra)."""
    seed: Annotated[int, Field(ge=0)] = 88
    """Seed of the built-in generators (oracle weights and samples; sines) and of the split."""
    eval_samples: Annotated[int, Field(ge=16, le=100_000)] = 2000
    """Generated sequences the metrics use (bounded so evaluation stays fast)."""
    # tokens
    vocab_size: Annotated[int, Field(ge=2, le=1_000_000)] | None = None
    """Oracle vocabulary (default 5,000 as in SeqGAN); token_ids files: at least max id + 1
    (default: max id + 1)."""
    oracle_embed: Annotated[int, Field(ge=1)] = 32
    oracle_hidden: Annotated[int, Field(ge=1)] = 32
    tokenizer: Literal["char", "word"] = "char"
    lowercase: bool = False
    max_vocab: Annotated[int, Field(ge=4)] | None = None
    """Word vocabularies keep the most frequent tokens; the rest become `<unk>`."""
    # series
    features: Annotated[int, Field(ge=1, le=4096)] = 5
    """Sines: number of features D."""
    csv_header: bool = True
    """The first CSV line holds column names."""
    stride: Annotated[int, Field(ge=1)] = 1
    """Step between the starts of consecutive windows cut from a user series."""
    discriminative_steps: Annotated[int, Field(ge=1)] = 2000
    """Training iterations of the post-hoc GRU classifier (TimeGAN: 2000)."""
    predictive_steps: Annotated[int, Field(ge=1)] = 5000
    """Training iterations of the post-hoc GRU predictor (TimeGAN: 5000)."""
    posthoc_repeats: Annotated[int, Field(ge=1, le=100)] = 3
    """Times each post-hoc GRU is trained; repetition r is seeded with the evaluation seed
    (train.seed) + r. Scores are the mean over repetitions, with their sample sd as `*_sd`
    (TimeGAN reports mean ± sd)."""

    @model_validator(mode="before")
    @classmethod
    def _infer_kind(cls, raw: Any) -> Any:
        if isinstance(raw, dict) and raw.get("kind") is None:
            return {**raw, "kind": kind_of(str(raw.get("dataset", "oracle")))}
        return raw

    @field_validator("path")
    @classmethod
    def _existing_file(cls, path: Path | None) -> Path | None:
        if path is None:
            return None
        if path.is_dir():
            raise ValueError("is a directory, expected a file")
        if not path.is_file():
            raise ValueError("no such file")
        return path.resolve()  # Ray workers may run in another working directory

    @model_validator(mode="after")
    def _consistent(self) -> SequenceData:
        assert self.kind is not None  # filled in by _infer_kind
        if kind_of(self.dataset) != self.kind:
            raise ValueError(
                f"dataset {self.dataset!r} holds {kind_of(self.dataset)} sequences, not {self.kind}"
            )
        _refuse_foreign(self, self.kind, TOKEN_DATA_FIELDS, SERIES_DATA_FIELDS)
        if self.dataset in FILE_SUFFIXES:
            if self.path is None:
                raise ValueError(f"dataset {self.dataset!r} needs data.path")
            suffixes = FILE_SUFFIXES[self.dataset]
            if suffixes and self.path.suffix.lower() not in suffixes:
                raise ValueError(f"dataset {self.dataset!r} expects a {'/'.join(sorted(suffixes))} file")
        return self

    @property
    def is_tokens(self) -> bool:
        return self.kind == "tokens"


class SequenceModel(JobSection):
    """Networks and training method. Defaults follow SeqGAN (tokens) and TimeGAN (series)."""

    method: Literal["mle", "seqgan", "gumbel", "timegan", "convgan"] = "seqgan"
    """Tokens: `mle` (teacher forcing only), `seqgan` (policy gradient with Monte-Carlo rollouts)
    or `gumbel` (RelGAN-style Gumbel-softmax). Series: `timegan` (embedder, recovery, supervisor,
    joint training) or `convgan` (temporal-convolution G and D on whole windows, trained by the
    platform's plain adversarial step with any gan.* loss and regulariser). The method decides
    the latent shape, which the platform draws from the model config alone, so series jobs name it."""
    seq_len: Annotated[int, Field(ge=2, le=1024)] = 20
    """Length the generator produces; must equal data.seq_len (it sizes the latent tensor,
    which the platform draws from the model config alone)."""
    hidden_dim: Annotated[int, Field(ge=1, le=4096)] | None = None
    """Recurrent width (default: 32 for tokens as in SeqGAN, 24 for series as in TimeGAN)."""
    init_generator: Path | None = None
    """Start G from these weights: a checkpoint folder (its `state.pt`) or a `.pt` state dict of a
    generator with the same settings, e.g. an MLE run reused by several adversarial runs
    (TextGAN-PyTorch's pretrained generator). Set pretrain_steps to 0 to skip MLE then."""
    pretrain_steps: Annotated[int, Field(ge=0)] = 1000
    """Tokens: MLE (teacher forcing) steps before the adversarial phase. Series: embedding
    (autoencoder) steps of TimeGAN. Counted in train.steps."""
    # tokens
    cell: Literal["lstm", "gru"] = "lstm"
    embed_dim: Annotated[int, Field(ge=1, le=4096)] = 32
    d_embed_dim: Annotated[int, Field(ge=1, le=4096)] = 64
    d_filter_sizes: tuple[Annotated[int, Field(ge=1)], ...] = (2, 3, 4, 5, 10, 15, 20)
    """Widths of the CNN discriminator's filters (SeqGAN); widths above seq_len are dropped."""
    d_num_filters: Annotated[int, Field(ge=1)] = 64
    d_dropout: Annotated[float, Field(ge=0.0, lt=1.0)] = 0.25
    pretrain_lr: Annotated[float, Field(gt=0.0)] = 1e-2
    """Adam learning rate of MLE pre-training (SeqGAN: 0.01); the adversarial phase uses gan.g_opt."""
    d_pretrain_steps: Annotated[int, Field(ge=0)] = 500
    """D trains against G's samples during the last k MLE steps, so that rewards start informative."""
    rollouts: Annotated[int, Field(ge=1, le=256)] = 16
    """SeqGAN: Monte-Carlo completions per prefix."""
    temperature_max: Annotated[float, Field(ge=1.0)] = 100.0
    """Gumbel: final inverse temperature beta of the soft one-hot samples (RelGAN: 100 or 1000)."""
    temperature_schedule: Literal["exp", "linear", "constant"] = "exp"
    mle_weight: Annotated[float, Field(ge=0.0)] = 0.0
    """Weight of a teacher-forcing term added to the adversarial generator loss (0: pure GAN)."""
    # series
    num_layers: Annotated[int, Field(ge=1, le=8)] = 3
    """Series: GRU layers of each TimeGAN network, or convolution layers of convgan's G and D."""
    noise_dim: Annotated[int, Field(ge=1, le=1024)] = 5
    """Noise features per time step (the latent tensor is (n, seq_len * noise_dim))."""
    supervised_steps: Annotated[int, Field(ge=0)] = 1000
    """TimeGAN: supervisor-only steps after the embedding steps. Counted in train.steps."""
    gamma: Annotated[float, Field(ge=0.0)] = 1.0
    """TimeGAN: weight of the adversarial loss on the unsupervised latent path."""
    moment_weight: Annotated[float, Field(ge=0.0)] = 100.0
    """TimeGAN: weight of the mean/std moment-matching term of the generator."""

    @field_validator("init_generator")
    @classmethod
    def _existing_weights(cls, path: Path | None) -> Path | None:
        if path is None:
            return None
        if not (path.is_file() or (path / "state.pt").is_file()):
            raise ValueError("no such weights file or checkpoint folder (with state.pt)")
        return path.resolve()

    def check_job(self, job: JobConfig) -> None:
        if isinstance(job.data, SequenceData):
            check_model(self, job.data)  # its ConfigError is a ValueError: pydantic reports it

    @property
    def is_series(self) -> bool:
        return self.method in SERIES_METHODS

    @property
    def latent_dim(self) -> int:
        """Width of the latent tensor: one uniform per token, or noise_dim per series step."""
        return self.seq_len * (self.noise_dim if self.is_series else 1)

    @property
    def hidden(self) -> int:
        return self.hidden_dim or (24 if self.is_series else 32)


def check_model(model: SequenceModel, data: SequenceData) -> None:
    """Checks what only the two sections together can tell: at load time (`SequenceModel.check_job`)
    and again by the builders, which may be handed sections that were validated apart.

    Raises:
        ConfigError: naming the model key that does not fit the data.
    """
    from ganforge.platform.errors import ConfigError  # the errors module is tiny; no cycle

    kind = data.kind or kind_of(data.dataset)
    if model.is_series != (kind == "series"):
        expected = "timegan or convgan" if kind == "series" else "mle, seqgan or gumbel"
        raise ConfigError(
            f"model.method = {model.method!r}: not a method for {kind} data "
            f"(data.dataset = {data.dataset!r}; expected {expected})"
        )
    if model.seq_len != data.seq_len:
        raise ConfigError(
            f"model.seq_len = {model.seq_len}: must equal data.seq_len = {data.seq_len} "
            "(set both, e.g. --set data.seq_len=24 --set model.seq_len=24)"
        )
    try:
        _refuse_foreign(model, kind, TOKEN_MODEL_FIELDS, SERIES_MODEL_FIELDS)
    except ValueError as error:
        raise ConfigError(f"model: {error}") from None
