"""The audio options beyond the paper: STFT discriminators beside the waveform one, the
nearest and linear upsampling generator, and the packed (PacGAN) discriminator."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from ganforge.modalities.audio import MODALITY
from ganforge.modalities.audio.config import AudioModel
from ganforge.modalities.audio.nets import (
    SpectrogramDiscriminator,
    UpsampleConv,
    WaveAndSpectrogramDiscriminator,
    WaveGANDiscriminator,
    WaveGANGenerator,
    wavegan_discriminator,
)
from ganforge.platform.config import ConfigError, load_job_dict
from ganforge.platform.gan.penalties import r1_penalty


def test_spectral_d_sums_the_waveform_and_spectrogram_logits() -> None:
    cfg = AudioModel(model_dim=2, latent_dim=8, spectral_d=True, stft_ffts=(64, 256), stft_channels=4)
    d = wavegan_discriminator(cfg, 1024)
    assert isinstance(d, WaveAndSpectrogramDiscriminator)
    assert [s.n_fft for s in d.spectral] == [64, 256]
    assert isinstance(wavegan_discriminator(AudioModel(model_dim=2), 1024), WaveGANDiscriminator)
    x = torch.rand(3, 1, 1024) * 2 - 1
    d.wave.radius = 0  # phase shuffle off, so the sum is deterministic
    with torch.no_grad():
        logit = d(x)
        parts = d.wave(x) + sum(s(x) for s in d.spectral)
    assert logit.shape == (3,)
    assert torch.allclose(logit, parts)


def test_spectrogram_shape_and_r1_reaches_the_waveform_and_every_parameter() -> None:
    s = SpectrogramDiscriminator(128, 4)
    x = torch.rand(2, 1, 1024) * 2 - 1
    assert s.spectrogram(x).shape == (2, 1, 65, 1024 // 32 + 1)
    d = wavegan_discriminator(AudioModel(model_dim=2, spectral_d=True, stft_ffts=(64, 128)), 1024)
    grad = torch.autograd.grad(d(x.requires_grad_(True)).sum(), x)[0]
    assert grad.shape == x.shape and grad.abs().sum() > 0
    # R1 differentiates D's input gradient once more: every spectral weight gets a gradient
    # (the last bias cannot: it does not change the input gradient).
    r1_penalty(d, x.detach()).backward()
    weights = [p for name, p in d.spectral.named_parameters() if name.endswith("weight")]
    assert len(weights) == 2 * 4 and all(p.grad is not None and p.grad.abs().sum() > 0 for p in weights)
    silent = torch.zeros(2, 1, 1024, requires_grad=True)  # |STFT| = 0: still a finite gradient
    assert torch.isfinite(torch.autograd.grad(d(silent).sum(), silent)[0]).all()


def test_conditional_spectral_d_keeps_the_class_projection() -> None:
    cfg = AudioModel(model_dim=2, latent_dim=8, conditional=True, spectral_d=True, stft_ffts=(64,))
    x, y = WaveGANGenerator(cfg, 1024)(MODALITY.sample_latents(cfg, {}, 4, torch.Generator().manual_seed(0)))
    d = wavegan_discriminator(cfg, 1024)
    d.wave.radius = 0
    nn.init.normal_(d.wave.project.weight)
    with torch.no_grad():
        assert d(x, y).shape == (4,)
        assert not torch.allclose(d(x, y), d(x, (y + 1) % 10))
    with pytest.raises(ValueError, match="needs class ids"):
        d(x)


@pytest.mark.parametrize("kind", ["nearest", "linear"])
@pytest.mark.parametrize("stride", [2, 4])
def test_upsampling_is_upsample_then_conv_and_has_no_checkerboard(stride: int, kind: str) -> None:
    layer = UpsampleConv(3, 5, 25, stride, kind)
    x = torch.randn(2, 3, 16)
    reference = layer.conv(nn.Upsample(scale_factor=stride, mode=kind)(x))
    # Linear interpolation repeats the edge sample where the transposed convolution sees zeros.
    edge = 0 if kind == "nearest" else 12 + stride
    inner = slice(edge, reference.shape[-1] - edge)
    assert layer(x).shape == reference.shape
    assert torch.allclose(layer(x)[..., inner], reference[..., inner], atol=1e-5)
    # A constant input gives a constant output away from the edges (a transposed conv's does not).
    flat = layer(torch.ones(1, 3, 32))[..., 16:-16]
    assert torch.allclose(flat, flat[..., :1].expand_as(flat), atol=1e-5)
    g = WaveGANGenerator(AudioModel(model_dim=1, latent_dim=8, upsample=kind), 2048)
    assert g(torch.rand(2, 8)).shape == (2, 1, 2048)


@pytest.mark.parametrize("spectral_d", [False, True])
def test_a_packed_d_judges_each_pack_of_clips_as_one(spectral_d: bool) -> None:
    cfg = AudioModel(model_dim=2, latent_dim=8, pack=2, spectral_d=spectral_d, stft_ffts=(64,))
    d = wavegan_discriminator(cfg, 1024)
    wave = d.wave if spectral_d else d
    wave.radius = 0  # phase shuffle is random
    x = torch.randn(6, 1, 1024)
    changed = x.clone()
    changed[3] = torch.randn(1, 1024)  # the second clip of the second pack
    with torch.no_grad():
        before, after = d(x), d(changed)
    assert before.shape == (3,)
    assert torch.equal(before[[0, 2]], after[[0, 2]]) and not torch.allclose(before[1], after[1])
    assert r1_penalty(d, x) > 0  # every clip of a pack gets D's gradient
    with pytest.raises(ValueError, match="not a multiple of model.pack = 2"):
        d(x[:5])


def _job(**model: object) -> dict:
    tiny = MODALITY.tiny_configs()[0]
    return {**tiny, "model": {**tiny["model"], **model}}


def test_config_refuses_bad_fft_sizes() -> None:
    assert load_job_dict(_job(spectral_d=True, stft_ffts=[64, 256])).model.stft_ffts == (64, 256)
    with pytest.raises(ConfigError, match="stft_ffts"):  # the tiny window is 1,024: at most 256
        load_job_dict(_job(spectral_d=True, stft_ffts=[512]))
    with pytest.raises(ConfigError, match="powers of two"):
        load_job_dict(_job(spectral_d=True, stft_ffts=[100]))
    with pytest.raises(ConfigError, match="upsample"):
        load_job_dict(_job(upsample="cubic"))


def test_config_refuses_a_pack_the_batch_or_the_model_cannot_take() -> None:
    batch = MODALITY.tiny_configs()[0]["train"]["batch_size"]
    assert load_job_dict(_job(pack=2)).model.pack == 2
    with pytest.raises(ConfigError, match=f"model.pack = {batch + 1} does not divide"):
        load_job_dict(_job(pack=batch + 1))
    with pytest.raises(ConfigError, match="needs model.conditional = false"):
        load_job_dict(_job(pack=2, conditional=True))
