"""Config models of the toy modality: 2-D Gaussian mixtures."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated, Literal

from pydantic import Field, model_validator

from ganforge.platform.config.paths import existing_file
from ganforge.platform.config.schema import JobSection, StrictModel, check_pack_divides_batch

if TYPE_CHECKING:
    from ganforge.platform.config.schema import JobConfig

Point = tuple[float, float]


class ToyData(StrictModel):
    """A built-in mixture (`ring8`, `grid25`) or a user file of 2-D points (`.npy` or `.csv`)."""

    dataset: Literal["ring8", "grid25", "file"] = "grid25"
    n_samples: Annotated[int, Field(ge=100, le=10_000_000)] = 100_000
    """Size of the real set drawn once from the mixture (built-in sets)."""
    seed: Annotated[int, Field(ge=0)] = 1234
    path: existing_file(".npy", ".csv") | None = None
    """Points for `dataset: file`: an (N, 2) array in .npy, or two numeric columns in .csv."""
    modes: list[Point] | None = None
    """Mode centres for metrics on `dataset: file` (the built-in sets know theirs)."""
    sigma: Annotated[float, Field(gt=0)] | None = None
    """Mode standard deviation; defaults to 0.01 (ring8) and 0.05 (grid25)."""

    @model_validator(mode="after")
    def _file_needs_path(self) -> ToyData:
        if self.dataset == "file" and self.path is None:
            raise ValueError("dataset 'file' needs data.path")
        return self


class ToyModel(JobSection):
    """MLP generator and discriminator as in the PacGAN / VEEGAN mixture experiments."""

    latent_dim: Annotated[int, Field(ge=1, le=1024)] = 2
    g_hidden: Annotated[int, Field(ge=1)] = 400
    g_layers: Annotated[int, Field(ge=1, le=16)] = 4
    g_batch_norm: bool = True
    d_hidden: Annotated[int, Field(ge=1)] = 200
    d_layers: Annotated[int, Field(ge=1, le=16)] = 3
    pack: Annotated[int, Field(ge=1, le=16)] = 1
    """PacGAN packing: D judges `pack` samples jointly (batch size must be a multiple)."""

    def check_job(self, job: JobConfig) -> None:
        check_pack_divides_batch(self.pack, job, "samples")
