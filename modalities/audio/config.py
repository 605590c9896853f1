"""Config models of the audio modality: WaveGAN on fixed-length mono windows."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field, field_validator, model_validator

from ganforge.platform.config.paths import ExistingFolder
from ganforge.platform.config.schema import JobConfig, JobSection, StrictModel, check_pack_divides_batch
from ganforge.platform.metrics.config import FeatureEval

# WaveGAN's layers multiply the length by 4 (and one layer by 2 for odd powers), from 16 steps:
# every power of two from 1,024 (tests) to 65,536 samples can be built. The paper uses 16,384.
WINDOWS = (1024, 2048, 4096, 8192, 16384, 32768, 65536)


class AudioData(StrictModel):
    """The built-in spoken digits (`spoken_digits`) or a folder of WAV/FLAC/OGG files (`folder`).

    A folder whose files sit in sub-folders is labelled by sub-folder name (`dog/bark1.wav`);
    that is what the class-conditional option and the classifier metrics need.
    """

    dataset: Literal["spoken_digits", "folder"] = "spoken_digits"
    path: ExistingFolder | None = None
    """Folder of audio files for `dataset: folder` (searched recursively)."""
    sample_rate: Annotated[int, Field(ge=1000, le=192_000)] = 16_000
    """Every file is resampled to this rate (Hz)."""
    window: Annotated[int, Field(ge=1024, le=65536)] = 16_384
    """Samples per training example: a power of two, 1,024 to 65,536 (WaveGAN: 16,384)."""
    slicing: Literal["first", "all"] = "first"
    """`first`: one example per file (its start, zero-padded; SC09 style); `all`: every window."""
    trim_silence: bool = True
    """Cut leading and trailing audio quieter than `trim_db` below the file's peak."""
    trim_db: Annotated[float, Field(gt=0, le=120)] = 40.0
    normalize: bool = True
    """Scale each example to a peak of 0.95 (espeak-ng and user files vary in loudness)."""
    per_digit: Annotated[int, Field(ge=2, le=100_000)] = 300
    """Utterances of each digit in the built-in set (SC09 has about 1,850 per digit for training)."""
    seed: Annotated[int, Field(ge=0)] = 1234
    """Seed of the built-in set's voices, pitches and speeds, and of the classifier's split."""
    speed_range: tuple[Annotated[int, Field(ge=80, le=450)], Annotated[int, Field(ge=80, le=450)]] = (
        140,
        240,
    )
    """Speaking rates (words per minute) of the built-in set, drawn uniformly."""
    eval: FeatureEval = FeatureEval()
    """The classifier metrics (inception score, FID, precision/recall): samples, metric model."""

    @field_validator("window")
    @classmethod
    def _power_of_two(cls, window: int) -> int:
        if window not in WINDOWS:
            raise ValueError(f"expected one of {', '.join(map(str, WINDOWS))}")
        return window

    @model_validator(mode="after")
    def _folder_needs_path(self) -> AudioData:
        if self.dataset == "folder" and self.path is None:
            raise ValueError("dataset 'folder' needs data.path")
        if self.speed_range[0] > self.speed_range[1]:
            raise ValueError("data.speed_range: expected [low, high] with low <= high")
        return self


class AudioModel(JobSection):
    """WaveGAN (Donahue et al. 2019): transposed 1-D convolutions, kernel 25, stride 4, no BatchNorm."""

    latent_dim: Annotated[int, Field(ge=1, le=1024)] = 100
    model_dim: Annotated[int, Field(ge=1, le=256)] = 64
    """d in the paper: G starts at 16d channels (16,384 samples) and halves them per layer."""
    kernel_size: Annotated[int, Field(ge=3, le=63)] = 25
    phase_shuffle: Annotated[int, Field(ge=0, le=16)] = 2
    """Radius n of D's phase shuffle (0: off): each layer's output is shifted by -n..n samples."""
    conditional: bool = False
    """Class-conditional G and D: the class id rides in the latent's last column, D projects it."""
    n_classes: Annotated[int, Field(ge=2, le=10_000)] = 10
    """Classes of the conditional model (the built-in digits have 10)."""
    upsample: Literal["transposed", "nearest", "linear"] = "transposed"
    """G's upsampling: `transposed` convolutions (the paper), or `nearest`-neighbour repeats or
    `linear` interpolation followed by a convolution of the same kernel, which cannot produce the
    transposed convolution's checkerboard (a fixed tone at the stride's frequency; Odena et al.
    2016). Linear also damps the repeats' images of the low band (fixed bands up the spectrum)."""
    spectral_d: bool = False
    """Add STFT discriminators beside the waveform one (as MelGAN / UnivNet's multi-resolution D):
    each reads the log-magnitude spectrogram at one FFT size with a small 2-D conv net, and D's
    logit is the sum of all of them. Differentiable in the waveform, so R1 and WGAN-GP work."""
    stft_ffts: tuple[int, ...] = (128, 256, 512)
    """FFT sizes of the spectral discriminators (powers of two, each at most a quarter of the window);
    the hop is a quarter of the FFT size, the window a Hann window as long as the FFT."""
    stft_channels: Annotated[int, Field(ge=1, le=256)] = 16
    """Channels of each spectral discriminator's convolutions."""
    minibatch_std: Annotated[int, Field(ge=0, le=64)] = 0
    """Group size of a minibatch-standard-deviation channel before the waveform D's dense layer
    (StyleGAN's; 0: off): D sees how alike the clips of a group are, against mode dropping."""
    pack: Annotated[int, Field(ge=1, le=16)] = 1
    """PacGAN packing (Lin et al. 2018; 1: off): the waveform D reads `pack` clips at once, as the
    channels of one input, and gives one logit per pack, so a G that repeats itself is easy to
    catch. It also divides D's work after its first layer by `pack`. Unconditional models only."""

    @field_validator("kernel_size")
    @classmethod
    def _odd_kernel(cls, kernel: int) -> int:
        if kernel % 2 == 0:
            raise ValueError("expected an odd kernel size (the padding keeps lengths exact)")
        return kernel

    @field_validator("stft_ffts")
    @classmethod
    def _fft_sizes(cls, ffts: tuple[int, ...]) -> tuple[int, ...]:
        if not ffts:
            raise ValueError("expected at least one FFT size")
        bad = [n for n in ffts if n < 16 or n > 16384 or n & (n - 1)]
        if bad:
            raise ValueError(f"expected powers of two from 16 to 16,384, got {bad}")
        return ffts

    def check_job(self, job: JobConfig) -> None:
        check_pack_divides_batch(self.pack, job, "clips")
        if self.pack > 1 and self.conditional:
            raise ValueError(
                "model.pack > 1 needs model.conditional = false: a pack holds clips of different "
                "classes, so D cannot project one class id onto it"
            )
        window = getattr(job.data, "window", None)
        if self.spectral_d and window is not None and max(self.stft_ffts) * 4 > window:
            raise ValueError(
                f"model.stft_ffts = {list(self.stft_ffts)} with data.window = {window}: each FFT size "
                f"must be at most a quarter of the window ({window // 4}), so its spectrogram has frames"
            )
