"""Config models of the image modality: where the images come from and which GAN draws them."""

from __future__ import annotations

import zipfile
from pathlib import Path
from typing import Annotated, Literal

from pydantic import Field, field_validator, model_validator

from ganforge.platform.config.paths import ExistingPath, existing_file
from ganforge.platform.config.schema import JobConfig, JobSection, StrictModel
from ganforge.platform.metrics.config import FeatureEval

AUGMENTS = ("color", "translation", "cutout")
AdaOp = Literal["xflip", "rot90", "translation", "color", "cutout"]


def check_torchscript_file(path: Path) -> Path:
    """A cheap check before training: TorchScript files are zip archives holding `code/`."""
    if not zipfile.is_zipfile(path):
        raise ValueError(f"{path} is not a TorchScript file (not a zip archive)")
    with zipfile.ZipFile(path) as archive:
        if not any(name.startswith("code/") or "/code/" in name for name in archive.namelist()):
            raise ValueError(f"{path} is not a TorchScript file (no code/ inside; was it torch.save'd?)")
    return path


class ImageEval(FeatureEval):
    """How the feature-space metrics are computed (no downloads: see features.py)."""

    classifier_steps: Annotated[int, Field(ge=1, le=100_000)] = 600
    """Training steps of the feature classifier (trained once per dataset and stored)."""
    inception: existing_file(what="a TorchScript Inception file") | None = None
    """A local TorchScript Inception (e.g. clean-fid's `inception-2015-12-05.pt`): the metrics then
    use its 2048 pool features and 1008 logits instead of the data's own classifier."""

    @field_validator("inception")
    @classmethod
    def _torchscript_file(cls, path: Path | None) -> Path | None:
        return None if path is None else check_torchscript_file(path)


class ImageData(StrictModel):
    """A built-in offline set (`digits`, `shapes`), a folder of images or an `.npz` array file."""

    dataset: Literal["digits", "shapes", "folder", "npz"] = "shapes"
    path: ExistingPath | None = None
    """`folder`: images (PNG/JPEG), class sub-folders give labels. `npz`: arrays `x` and optional `y`."""
    size: Literal[8, 16, 32, 64, 128] = 32
    """Images are resized (centre-cropped first) to size x size."""
    channels: Literal[1, 3] | None = None
    """1 (grey) or 3 (RGB); default: 1 for digits, 3 otherwise."""
    n_samples: Annotated[int, Field(ge=16, le=1_000_000)] = 10_000
    """Size of the `shapes` set (drawn once, seeded, cached)."""
    seed: Annotated[int, Field(ge=0)] = 1234
    eval: ImageEval = ImageEval()

    @model_validator(mode="after")
    def _user_data_needs_path(self) -> ImageData:
        if self.dataset in ("folder", "npz") and self.path is None:
            raise ValueError(f"dataset {self.dataset!r} needs data.path")
        return self

    @property
    def n_channels(self) -> int:
        if self.channels is not None:
            return self.channels
        return 1 if self.dataset == "digits" else 3


class ImageModel(JobSection):
    """DCGAN (Radford et al.) or SNGAN-style ResNet (Miyato et al.) generator and discriminator."""

    arch: Literal["dcgan", "resnet"] = "dcgan"
    latent_dim: Annotated[int, Field(ge=1, le=1024)] = 128
    g_channels: Annotated[int, Field(ge=4, le=1024)] = 64
    """Width of G's last block; earlier blocks are wider by powers of two (DCGAN) or equal (ResNet)."""
    d_channels: Annotated[int, Field(ge=4, le=1024)] = 64
    d_norm: Literal["none", "batch"] = "none"
    """Normalisation in D (spectral norm is the platform switch gan.spectral_norm)."""
    dcgan_biases: bool = True
    """DCGAN only: biases on the layers no BatchNorm follows (G's input linear and output conv, D's
    first conv and head). The PyTorch examples DCGAN has none; on shapes, with them, 6 of 6 runs
    collapsed where the same nets without them mostly did not (benchmarks/RESULTS.md)."""
    num_classes: Annotated[int, Field(ge=0, le=10_000)] = 0
    """0: unconditional. Otherwise the class count of the data: conditional BN in G, projection D."""
    diffaugment: str = ""
    """DiffAugment policy applied in D to reals and fakes, e.g. `color,translation,cutout`."""
    ada_ops: Annotated[tuple[AdaOp, ...], Field(min_length=1)] = ("translation", "color", "cutout")
    """The ops adaptive augmentation (gan.ada) applies, in this order (modalities/image/augment.py).
    `xflip` and `rot90` are opt-in: they change what a digit or a letter means (a mirrored 7 is no
    digit, a 6 turned over is a 9) and would contradict a conditional model's label; add them for
    data whose classes do not care (shapes, textures; `xflip` for faces and most photos)."""
    minibatch_std: Annotated[int, Field(ge=0, le=64)] = 0
    """Group size of a minibatch-standard-deviation channel on D's last feature map (StyleGAN's;
    0: off): D sees how alike the images of a group are, against mode dropping."""
    truncation: Annotated[float, Field(gt=0, le=10)] | None = None
    """The truncation trick (BigGAN's) for what is shown and scored: evaluation, sample grids, the
    registered version's card and `ganforge generate` redraw latent entries beyond this many standard
    deviations (training always draws the full N(0, I)). Lower trades variety for fidelity: cleaner,
    more typical samples, fewer unusual ones. None: off."""

    @field_validator("diffaugment")
    @classmethod
    def _known_augments(cls, policy: str) -> str:
        for name in filter(None, (p.strip() for p in policy.split(","))):
            if name not in AUGMENTS:
                raise ValueError(f"unknown augmentation {name!r} (expected some of: {', '.join(AUGMENTS)})")
        return policy

    def check_job(self, job: JobConfig) -> None:
        if self.diffaugment and job.gan.ada.enabled:
            raise ValueError(
                f"model.diffaugment = {self.diffaugment!r} and gan.ada.enabled = True: use one; both "
                "augment D's inputs, DiffAugment always, so ADA's p would steer a second layer on top"
            )

    @property
    def augments(self) -> tuple[str, ...]:
        return tuple(filter(None, (p.strip() for p in self.diffaugment.split(","))))
