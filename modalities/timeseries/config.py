"""Config models of the timeseries modality: continuous multivariate series.

Defaults follow TimeGAN's sines recipe (Yoon et al. 2019): windows of 24 steps, 3-layer GRUs
of width 24, five noise features per step. The built-in `seasonal` set is drawn offline too:
hourly multi-channel series with daily and weekly cycles, a trend, correlated noise and regimes.
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field, model_validator

from ganforge.platform.config.paths import existing_file
from ganforge.platform.config.schema import StrictModel

SUFFIXES = {"csv": ".csv", "npy": ".npy"}
TIMEGAN_ONLY = (
    "embedding_steps",
    "supervised_steps",
    "gamma",
    "moment_weight",
    "covariance_weight",
    "bidirectional_recovery",
)
SEASONAL_ONLY = ("regimes", "noise")


class SeriesData(StrictModel):
    """Where the real series come from, how they are cut into windows and how they are scored."""

    dataset: Literal["sines", "seasonal", "csv", "npy"] = "sines"
    """Built-in `sines` (TimeGAN's recipe) or `seasonal` (one long hourly multi-channel series
    with daily and weekly cycles, a slow trend, correlated noise and Markov regime switches, cut
    into overlapping windows), or a user file holding one (time, features) table: `csv` (numeric
    columns) or `npy` (a 2-D array); it is cut into overlapping windows."""
    path: existing_file(".csv", ".npy") | None = None
    """The user file of `dataset: csv` / `npy`."""
    seq_len: Annotated[int, Field(ge=2, le=1024)] = 24
    """Window length T: the length of every real and generated series."""
    n_samples: Annotated[int, Field(ge=16, le=10_000_000)] = 10_000
    """Sines and seasonal: training windows (TimeGAN: 10,000)."""
    heldout_fraction: Annotated[float, Field(gt=0.0, lt=0.9)] = 0.1
    """Share of the windows held out (sines draws that many extra)."""
    seed: Annotated[int, Field(ge=0)] = 88
    """Seed of the sines generator and of the held-out split of a user file."""
    eval_samples: Annotated[int, Field(ge=16, le=100_000)] = 2000
    """Generated windows the post-hoc metrics use (bounded so evaluation stays fast)."""
    features: Annotated[int, Field(ge=1, le=4096)] = 5
    """Sines and seasonal: number of features (channels) D."""
    regimes: Annotated[int, Field(ge=1, le=8)] = 3
    """Seasonal: states of the Markov chain that switches the level and the cycles' amplitude
    (1: no switches)."""
    noise: Annotated[float, Field(ge=0.0, le=10.0)] = 0.3
    """Seasonal: standard deviation of the correlated AR(1) noise (the daily cycle's amplitude is
    about 1)."""
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

    @model_validator(mode="after")
    def _file_fits_dataset(self) -> SeriesData:
        if self.dataset in SUFFIXES:
            if self.path is None:
                raise ValueError(f"dataset {self.dataset!r} needs data.path")
            if self.path.suffix.lower() != SUFFIXES[self.dataset]:
                raise ValueError(f"dataset {self.dataset!r} expects a {SUFFIXES[self.dataset]} file")
        elif self.path is not None:
            raise ValueError(f"data.path is for dataset csv or npy; dataset {self.dataset!r} is built in")
        if self.dataset != "seasonal":
            # Only values that differ from the default: a dumped config (all keys) must load again.
            fields = type(self).model_fields
            for name in SEASONAL_ONLY:
                if getattr(self, name) != fields[name].default:
                    value = getattr(self, name)
                    raise ValueError(
                        f"{name} = {value!r} is an option of dataset seasonal, not {self.dataset}"
                    )
        return self


class SeriesModel(StrictModel):
    """Networks and training method. The window length and the feature count come from the data."""

    method: Literal["timegan", "convgan"] = "timegan"
    """`timegan` (embedder, recovery, supervisor, joint training; its own fixed BCE objective) or
    `convgan` (temporal-convolution G and D on whole windows, trained by the platform's
    adversarial objective with any gan.* loss and regulariser)."""
    hidden_dim: Annotated[int, Field(ge=1, le=4096)] = 24
    """Width of every GRU (TimeGAN) or convolution (convgan)."""
    num_layers: Annotated[int, Field(ge=1, le=8)] = 3
    """GRU layers of each TimeGAN network, or convolution layers of convgan's G and D."""
    noise_dim: Annotated[int, Field(ge=1, le=1024)] = 5
    """Noise features per time step: the latent tensor is (n, data.seq_len * noise_dim)."""
    embedding_steps: Annotated[int, Field(ge=0)] = 1000
    """TimeGAN: embedding (autoencoder) steps first. Counted in train.steps."""
    supervised_steps: Annotated[int, Field(ge=0)] = 1000
    """TimeGAN: supervisor-only steps after the embedding steps. Counted in train.steps."""
    gamma: Annotated[float, Field(ge=0.0)] = 1.0
    """TimeGAN: weight of the adversarial loss on the unsupervised latent path."""
    moment_weight: Annotated[float, Field(ge=0.0)] = 100.0
    """TimeGAN: weight of the mean/std moment-matching term of the generator."""
    covariance_weight: Annotated[float, Field(ge=0.0)] = 0.0
    """TimeGAN: weight of a term (not in the paper) that matches the batch covariance of whole
    windows, every (step, feature) pair against every other, between generated and real: the
    root-mean-square of the difference. The paper's moment term matches each (step, feature)'s
    mean and std alone, so nothing but D asks the features of a window to be as (in)dependent
    as the real ones; on sines, where they are independent, G's windows tie them together."""
    bidirectional_recovery: bool = False
    """TimeGAN: the recovery network (latents -> series) reads the latent sequence both ways, so
    a window's first steps are decoded with its later latents too. The paper's is causal, and
    then decodes the first steps from one or two latents only: on sines its windows kink over
    steps 1-4, which this removes. It costs 1.3x per joint step and did not lower the sines
    scores at 30 CPU-minutes (benchmarks/RESULTS.md, session 43), so it is off by default."""

    @model_validator(mode="after")
    def _timegan_options_need_timegan(self) -> SeriesModel:
        # Only values that differ from the default: a dumped config (all keys) must load again.
        if self.method != "timegan":
            fields = type(self).model_fields
            for name in TIMEGAN_ONLY:
                if getattr(self, name) != fields[name].default:
                    value = getattr(self, name)
                    raise ValueError(f"{name} = {value!r} is an option of method timegan, not {self.method}")
        return self
