"""Image networks: shapes, conditioning through the latent, spectral norm, DiffAugment gradients."""

from __future__ import annotations

import copy

import pytest
import torch
import torch.nn.functional as F
from torch.utils.data import TensorDataset

from ganforge.modalities.image import MODALITY
from ganforge.modalities.image.augment import diff_augment
from ganforge.modalities.image.config import ImageModel
from ganforge.modalities.image.nets import ConditionalBatchNorm2d, DBlock
from ganforge.platform.errors import ConfigError
from ganforge.platform.gan import add_spectral_norm
from ganforge.platform.modality import Prepared


def _images(size: int, channels: int = 3, classes: int = 9) -> Prepared:
    """The prepared facts the builders read (size, channels, class names), without real images."""
    info = {"size": size, "channels": channels, "class_names": [str(c) for c in range(classes)]}
    return Prepared(TensorDataset(torch.zeros(1)), info, "no-data")


@pytest.mark.parametrize(("arch", "size"), [("dcgan", 32), ("dcgan", 64), ("resnet", 32), ("dcgan", 8)])
def test_generator_and_discriminator_shapes(arch: str, size: int) -> None:
    model = ImageModel(arch=arch, latent_dim=8, g_channels=8, d_channels=8)
    data = _images(size)
    g, d = MODALITY.build_generator(model, data), MODALITY.build_discriminator(model, data)
    x = g(MODALITY.sample_latents(model, {}, 4))
    assert x.shape == (4, 3, size, size) and x.abs().max() <= 1
    assert d(x).shape == (4,)


def test_conditional_generator_reads_the_class_from_the_last_latent_column() -> None:
    model = ImageModel(arch="resnet", latent_dim=8, g_channels=8, d_channels=8, num_classes=10)
    data = _images(8, channels=1, classes=10)
    g = MODALITY.build_generator(model, data).eval()
    for layer in g.modules():  # class gains start at 1 and biases at 0: make the classes differ
        if isinstance(layer, ConditionalBatchNorm2d) and layer.bias is not None:
            torch.nn.init.normal_(layer.bias.weight)
    z = MODALITY.sample_latents(model, {}, 20, torch.Generator().manual_seed(0))
    assert z.shape == (20, 9)
    assert torch.bincount(z[:, -1].long(), minlength=10).tolist() == [2] * 10  # balanced classes
    x, y = g(z)
    assert torch.equal(y, z[:, -1].long())
    z2 = z.clone()
    z2[:, -1] = (z2[:, -1] + 1) % 10
    assert not torch.allclose(g(z2)[0], x)  # the class changes the image
    d = MODALITY.build_discriminator(model, data)
    assert not torch.allclose(d(x, y), d(x, (y + 1) % 10))  # projection D reads the label


def test_dcgan_without_biases_has_biases_only_in_batchnorm() -> None:
    """`dcgan_biases: false` is the PyTorch example's layout: every bias left sits in a BatchNorm."""
    data = _images(32)
    for biases in (True, False):
        model = ImageModel(latent_dim=8, g_channels=8, d_channels=8, d_norm="batch", dcgan_biases=biases)
        nets = MODALITY.build_generator(model, data), MODALITY.build_discriminator(model, data)
        outside_norms = [
            name
            for net in nets
            for name, layer in net.named_modules()
            if not isinstance(layer, torch.nn.BatchNorm2d) and getattr(layer, "bias", None) is not None
        ]
        assert (outside_norms == []) is not biases, outside_norms


def test_num_classes_must_match_the_data() -> None:
    with pytest.raises(ConfigError, match="model.num_classes = 3: .* has 10 class"):
        MODALITY.build_generator(ImageModel(num_classes=3), _images(8, channels=1, classes=10))


@pytest.mark.parametrize("arch", ["dcgan", "resnet"])
def test_spectral_norm_switch_covers_every_d_layer_including_the_projection(arch: str) -> None:
    model = ImageModel(arch=arch, g_channels=8, d_channels=8, num_classes=9)
    d = add_spectral_norm(MODALITY.build_discriminator(model, _images(16)))
    weighted = [m for m in d.modules() if isinstance(m, torch.nn.Conv2d | torch.nn.Linear)]
    assert weighted and all(hasattr(m, "parametrizations") for m in weighted)
    assert hasattr(d.head.embed, "parametrizations")


def test_diffaugment_keeps_gradients_and_is_off_in_eval_mode() -> None:
    model = ImageModel(g_channels=8, d_channels=8, diffaugment="color,translation,cutout")
    d = MODALITY.build_discriminator(model, _images(16))
    x = torch.rand(6, 3, 16, 16, requires_grad=True)
    d(x).sum().backward()
    assert x.grad is not None and x.grad.abs().sum() > 0
    augmented = diff_augment(x.detach(), ("translation", "cutout"))
    assert augmented.shape == x.shape and not torch.equal(augmented, x.detach())
    d.eval()
    with torch.no_grad():
        assert torch.equal(d(x), d(x))


@pytest.mark.parametrize("arch", ["dcgan", "resnet"])
def test_with_minibatch_std_d_judges_an_image_by_its_batch(arch: str) -> None:
    data = _images(16)
    x = torch.randn(4, 3, 16, 16)
    for group, depends_on_batch in ((0, False), (4, True)):
        model = ImageModel(arch=arch, d_channels=8, minibatch_std=group)
        d = MODALITY.build_discriminator(model, data).eval()  # no BatchNorm, no augmentation
        alone, with_copies = d(x), d(torch.cat([x[:1]] * 4))
        assert alone.shape == (4,) and d(x[:3]).shape == (3,)
        assert torch.allclose(alone[0], with_copies[0]) is not depends_on_batch


def test_down_block_shortcut_matches_sngans_convolution_then_pooling() -> None:
    """The shortcut pools before its 1x1 convolution (cheaper); SNGAN's order gives the same output."""
    torch.manual_seed(0)
    block = DBlock(4, 6, down=True, first=False, norm="none")
    x = torch.randn(3, 4, 8, 8)
    residual = F.avg_pool2d(block.conv2(F.relu(block.conv1(F.relu(x)))), 2)
    assert block.skip is not None
    sngan = residual + F.avg_pool2d(block.skip(x), 2)
    torch.testing.assert_close(block(x), sngan)


@pytest.mark.parametrize("arch", ["dcgan", "resnet"])
def test_nets_are_built_channels_last_and_compute_what_nchw_nets_compute(arch: str) -> None:
    """The layout is a speed choice (oneDNN convolves NHWC): every 4-D weight is channels-last, G's
    images come out channels-last, and the values match the same nets in NCHW, through D's
    backward too."""
    model = ImageModel(arch=arch, latent_dim=8, g_channels=8, d_channels=8, d_norm="batch")
    data = _images(16)
    torch.manual_seed(0)
    g, d = MODALITY.build_generator(model, data), MODALITY.build_discriminator(model, data)
    weights = [p for net in (g, d) for p in net.parameters() if p.dim() == 4]
    assert weights and all(p.is_contiguous(memory_format=torch.channels_last) for p in weights)
    assert not all(p.is_contiguous() for p in weights)  # 1x1 kernels are both; 3x3 and 4x4 are not
    g_nchw, d_nchw = (copy.deepcopy(net).to(memory_format=torch.contiguous_format) for net in (g, d))
    z = MODALITY.sample_latents(model, {}, 6, torch.Generator().manual_seed(1))
    x = g(z)
    assert x.is_contiguous(memory_format=torch.channels_last)
    torch.testing.assert_close(x, g_nchw(z))
    x = x.detach().requires_grad_()
    x_nchw = x.detach().contiguous().requires_grad_()
    d(x).sum().backward()
    d_nchw(x_nchw).sum().backward()
    torch.testing.assert_close(x.grad, x_nchw.grad)
