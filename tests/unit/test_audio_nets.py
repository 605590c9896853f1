"""WaveGAN networks, phase shuffle, and the sample files, on known answers."""

from __future__ import annotations

from pathlib import Path

import pytest
import soundfile
import torch

from ganforge.modalities.audio import MODALITY
from ganforge.modalities.audio.config import WINDOWS, AudioModel
from ganforge.modalities.audio.nets import (
    WaveGANDiscriminator,
    WaveGANGenerator,
    layer_strides,
    phase_shuffle,
)
from ganforge.platform.gan.layers import MinibatchStd


@pytest.mark.parametrize("window", WINDOWS)
def test_every_window_length_round_trips_through_g_and_d(window: int) -> None:
    cfg = AudioModel(model_dim=1, latent_dim=8)
    g, d = WaveGANGenerator(cfg, window), WaveGANDiscriminator(cfg, window)
    x = g(torch.rand(2, 8) * 2 - 1)
    assert x.shape == (2, 1, window)
    assert x.abs().max() <= 1.0  # tanh output
    assert d(x).shape == (2,)


def test_published_sizes() -> None:
    assert layer_strides(16384) == [4, 4, 4, 4, 4]  # 16 -> 16,384 in five stride-4 layers
    g = WaveGANGenerator(AudioModel(), 16384)
    assert g.dense.out_features == 16 * 16 * 64  # 16 steps of 16d channels, d = 64
    assert [layer.kernel_size[0] for layer in g.layers] == [25] * 5
    assert not any(isinstance(m, torch.nn.modules.batchnorm._BatchNorm) for m in g.modules())


def test_phase_shuffle_shifts_each_example_within_the_radius() -> None:
    x = torch.arange(40.0).view(2, 1, 20).repeat(1, 3, 1)
    assert torch.equal(phase_shuffle(x, 0), x)
    torch.manual_seed(0)
    for _ in range(20):
        y = phase_shuffle(x, 2)
        for b in range(2):
            shift = int(x[b, 0, 10] - y[b, 0, 10])  # y[i] = x[i - shift] away from the edges
            assert -2 <= shift <= 2
            assert torch.equal(y[b, :, 2:-2], x[b, :, 2 - shift : 18 - shift])
            assert torch.equal(y[b, 0], y[b, 2])  # all channels of an example move together
            # The edges are filled by reflection about the end samples, as F.pad(mode="reflect").
            reflected = torch.nn.functional.pad(x[b : b + 1], (2, 2), mode="reflect")
            assert torch.equal(y[b], reflected[0, :, 2 - shift : 22 - shift])


def test_conditional_g_reads_the_class_from_the_last_latent_column() -> None:
    cfg = AudioModel(model_dim=1, latent_dim=8, conditional=True, n_classes=10)
    z = MODALITY.sample_latents(cfg, {}, 64, torch.Generator().manual_seed(0))
    assert z.shape == (64, 9)
    assert set(z[:, -1].tolist()) <= set(range(10))
    x, y = WaveGANGenerator(cfg, 1024)(z)
    assert torch.equal(y, z[:, -1].long())
    d = WaveGANDiscriminator(cfg, 1024)
    torch.nn.init.normal_(d.project.weight)
    with torch.no_grad():
        assert not torch.allclose(d(x, y), d(x, (y + 1) % 10))  # the label changes the critic
    with pytest.raises(ValueError, match="needs class ids"):
        d(x)


def test_samples_are_playable_wavs_at_the_sample_rate(tmp_path: Path) -> None:
    info = {"sample_rate": 8000, "class_names": ["zero", "one"]}
    fakes = (torch.rand(20, 1, 1024) * 2 - 1, torch.tensor([0, 1] * 10))
    artifacts = MODALITY.write_samples(fakes, torch.zeros(4, 1, 1024), tmp_path / "tracked", info)
    assert set(artifacts.images) == {"spectrogram"}
    assert len(artifacts.files) == 16 + 2  # 16 clips, the whole batch as one file, the reals
    data, rate = soundfile.read(artifacts.files[0])
    assert rate == 8000 and data.shape == (1024,)
    exported = MODALITY.export_samples(fakes, tmp_path / "exported", info)
    assert len(exported) == 20 and exported[1].name == "sample_00001_one.wav"


def test_the_minibatch_std_channel_is_each_group_spread() -> None:
    layer = MinibatchStd(4)
    x = torch.randn(8, 3, 5)
    out = layer(x)
    assert out.shape == (8, 4, 5) and torch.equal(out[:, :3], x)
    # Groups are strided: samples 0, 2, 4, 6 form one, 1, 3, 5, 7 the other.
    spread = x[[0, 2, 4, 6]].var(0, unbiased=False).add(1e-8).sqrt().mean()
    assert torch.allclose(out[[0, 2, 4, 6], 3], spread.expand(4, 5))
    same = x.clone()
    same[[3, 5, 7]] = x[1]
    assert layer(same)[1, 3].max() < 1e-3  # a group without variety: ~0
    assert layer(torch.randn(6, 3, 5)).shape == (6, 4, 5)  # gcd(6, 4) = 2 per group


def test_with_minibatch_std_d_judges_a_clip_by_its_batch() -> None:
    cfg = AudioModel(model_dim=2, latent_dim=8, minibatch_std=4)
    d = WaveGANDiscriminator(cfg, 4096)
    x = torch.randn(4, 1, 4096)
    alone = d(x)
    with_copies = d(torch.cat([x[:1]] * 4))
    assert alone.shape == (4,) and d(x[:3]).shape == (3,)
    assert not torch.allclose(alone[0], with_copies[0])  # the same clip, a batch without variety
