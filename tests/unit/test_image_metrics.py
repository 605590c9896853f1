"""Image samples a user gets, and the metrics in a user's Inception feature space."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from ganforge.modalities.image import MODALITY
from ganforge.modalities.image.config import ImageData, ImageModel
from ganforge.platform.config import ConfigError, load_job_dict


def test_export_names_each_png_with_its_class(tmp_path: Path) -> None:
    model = ImageModel(latent_dim=8, g_channels=8, d_channels=8, num_classes=10)
    data = MODALITY.prepare(ImageData(dataset="digits", size=8))
    g = MODALITY.build_generator(model, data).eval()
    with torch.no_grad():
        fakes = g(MODALITY.sample_latents(model, data.info, 12, torch.Generator().manual_seed(0)))
    info = data.info
    files = MODALITY.export_samples(fakes, tmp_path, info)
    assert len(files) == 12
    assert {f.name.split("_")[-1] for f in files} == {f"{d}.png" for d in range(10)}
    with Image.open(files[0]) as image:
        assert image.size == (8, 8) and image.mode == "L"
    tracked = MODALITY.write_samples(fakes, fakes[0], tmp_path / "grid", info).images
    with Image.open(tracked["samples"]) as image:  # one row per class, named at its start
        assert image.width >= 8 * 64 and image.height >= 10 * 64  # 8-pixel digits enlarged to 64
    with Image.open(tracked["real_vs_generated"]) as image:
        assert image.width >= 2 * 4 * 64  # reals beside fakes, at the same enlargement


class _TinyInception(torch.nn.Module):
    """Same call signature as clean-fid's / StyleGAN's TorchScript Inception, a few weights."""

    def __init__(self) -> None:
        super().__init__()
        self.features = torch.nn.Sequential(torch.nn.Conv2d(3, 6, 5, 4), torch.nn.AdaptiveAvgPool2d(1))
        self.fc = torch.nn.Linear(6, 4)

    def forward(self, x: torch.Tensor, return_features: bool = False) -> torch.Tensor:
        # The real file wants 299x299 in [0, 255]: fail loudly if ganforge feeds it anything else.
        assert x.shape[1] == 3 and x.shape[2] == 299 and x.shape[3] == 299
        assert float(x.min()) >= 0.0 and float(x.max()) <= 255.0
        h = self.features(x / 255).flatten(1)
        return h if return_features else self.fc(h)


def test_a_user_inception_file_replaces_the_classifier(tmp_path: Path) -> None:
    path = tmp_path / "inception.pt"
    torch.jit.save(torch.jit.script(_TinyInception().eval()), str(path))
    raw = MODALITY.tiny_configs()[1]  # conditional, grey digits: expanded to 3 channels
    raw["data"]["eval"] = {"samples": 40, "inception": str(path)}
    job = load_job_dict(raw)
    data = MODALITY.prepare(job.data)
    g = MODALITY.build_generator(job.model, data).eval()
    metrics = MODALITY.evaluate(g, data, job.model, job.data, seed=0)
    declared = {m.name for m in MODALITY.metric_specs(job.data)}
    assert set(metrics) == declared and "classifier_accuracy" not in declared
    assert all(np.isfinite(v) for v in metrics.values())
    assert 1.0 <= metrics["inception_score"] <= 4.0  # 4 logits


def test_an_inception_file_that_is_not_torchscript_is_a_config_error(tmp_path: Path) -> None:
    path = tmp_path / "weights.pt"
    torch.save({"w": torch.zeros(2)}, path)  # a state dict, not a TorchScript module
    raw = MODALITY.tiny_configs()[1]
    raw["data"]["eval"] = {"inception": str(path)}
    with pytest.raises(ConfigError, match="data.eval.inception.*not a TorchScript file"):
        load_job_dict(raw)


def test_an_inception_folder_is_named_as_a_folder(tmp_path: Path) -> None:
    raw = MODALITY.tiny_configs()[1]
    raw["data"]["eval"] = {"inception": str(tmp_path)}
    with pytest.raises(ConfigError, match="data.eval.inception.*is a directory, expected a TorchScript"):
        load_job_dict(raw)
