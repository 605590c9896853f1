"""Image data: user folders (labels from sub-folders, corrupt files skipped), .npz, built-ins."""

from __future__ import annotations

import logging
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from ganforge.modalities.image.config import ImageData
from ganforge.modalities.image.data import class_names, draw_shapes, load_images
from ganforge.platform.config import ConfigError, load_job_dict
from ganforge.platform.errors import DataError


def _png(path: Path, value: int, size: int = 12) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(np.full((size, size + 4, 3), value, np.uint8)).save(path)


def test_folder_classes_come_from_subfolders_and_corrupt_files_are_skipped(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    for i in range(3):
        _png(tmp_path / "cats" / f"{i}.png", 0)
        _png(tmp_path / "dogs" / f"{i}.jpg", 255)
    (tmp_path / "dogs" / "broken.png").write_bytes(b"not a png")
    cfg = ImageData(dataset="folder", path=tmp_path, size=8)
    with caplog.at_level(logging.WARNING):
        dataset = load_images(cfg)
    x, y = dataset.tensors
    assert x.shape == (6, 3, 8, 8) and x.min() >= -1 and x.max() <= 1
    assert y.tolist() == [0, 0, 0, 1, 1, 1]
    assert x[y == 0].max() == -1 and x[y == 1].min() == 1  # black cats, white dogs
    assert class_names(cfg) == ["cats", "dogs"]
    assert "skipped 1 unreadable" in caplog.text


def test_empty_folder_is_a_data_error(tmp_path: Path) -> None:
    with pytest.raises(DataError, match="no images found"):
        load_images(ImageData(dataset="folder", path=tmp_path))


def test_missing_folder_is_a_config_error_naming_the_key() -> None:
    raw = {"name": "x", "modality": "image", "data": {"dataset": "folder", "path": "/no/such/dir"}}
    with pytest.raises(ConfigError, match="data.path = '/no/such/dir': no such file or folder"):
        load_job_dict(raw)


def test_npz_in_channels_last_uint8_with_labels(tmp_path: Path) -> None:
    x = np.random.default_rng(0).integers(0, 256, size=(5, 16, 16, 3), dtype=np.uint8)
    np.savez(tmp_path / "set.npz", x=x, y=np.array([0, 1, 2, 1, 0]))
    cfg = ImageData(dataset="npz", path=tmp_path / "set.npz", size=8, channels=1)
    xs, ys = load_images(cfg).tensors
    assert xs.shape == (5, 1, 8, 8) and ys.tolist() == [0, 1, 2, 1, 0]
    assert class_names(cfg) == ["0", "1", "2"]


def test_npz_without_x_is_a_data_error(tmp_path: Path) -> None:
    np.savez(tmp_path / "set.npz", images=np.zeros((2, 8, 8)))
    with pytest.raises(DataError, match="array named 'x'"):
        load_images(ImageData(dataset="npz", path=tmp_path / "set.npz"))


def test_shapes_are_seeded_and_cover_all_classes() -> None:
    a, la = draw_shapes(16, 90, seed=3)
    b, lb = draw_shapes(16, 90, seed=3)
    assert np.array_equal(a, b) and np.array_equal(la, lb)
    assert set(la.tolist()) == set(range(9))
    assert not np.array_equal(a, draw_shapes(16, 90, seed=4)[0])


def test_digits_are_upscaled_grey_with_ten_labels() -> None:
    x, y = load_images(ImageData(dataset="digits", size=16)).tensors
    assert x.shape == (1797, 1, 16, 16) and set(y.tolist()) == set(range(10))
    assert -1 <= x.min() < -0.9 and 0.9 < x.max() <= 1
