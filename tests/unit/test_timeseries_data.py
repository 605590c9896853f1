"""Timeseries data and configs: bad files fail before training with the file, line and column
named; windows decode to the original units; options of one method are refused for the other."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch
from pydantic import ValidationError

from ganforge.modalities.timeseries import MODALITY
from ganforge.modalities.timeseries.config import SeriesData, SeriesModel
from ganforge.modalities.timeseries.data import SeriesPrepared, load_series, unscale
from ganforge.modalities.timeseries.tiny import tiny_series
from ganforge.platform.config import ConfigError, load_job_dict
from ganforge.platform.errors import DataError


def _write(path: Path, text: str) -> Path:
    path.write_text(text, encoding="utf-8")
    return path


def _csv(path: Path, **extra: object) -> SeriesData:
    return SeriesData(dataset="csv", path=path, seq_len=3, **extra)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("", "empty file"),
        ("a,b\n", "no data rows"),
        ("a,b\n1,2\n3,oops\n4,5\n", "line 3, column 2 ('b'): 'oops' is not a number"),
        ("a,b\n1,2\n3,nan\n4,5\n", "line 3, column 2 ('b'): 'nan' is NaN or infinite"),
        ("a,b\n1,2\n3\n", "line 3: 1 columns, expected 2"),
        ("a,b\n1,2\n3,4\n", "2 time steps, fewer than the window data.seq_len = 3"),
        ("a,b\n1,2\n3,4\n5,6\n", "only 1 window"),
    ],
)
def test_bad_csv_files_name_file_line_and_column(tmp_path: Path, text: str, message: str) -> None:
    path = _write(tmp_path / "series.csv", text)
    with pytest.raises(DataError, match=str(path)) as error:
        MODALITY.prepare(_csv(path))
    assert message in str(error.value)


def test_npy_with_nan_names_row_and_column(tmp_path: Path) -> None:
    array = np.ones((10, 2))
    array[4, 1] = np.nan
    np.save(tmp_path / "s.npy", array)
    with pytest.raises(DataError, match="row 5, column 2 holds a NaN"):
        load_series(SeriesData(dataset="npy", path=tmp_path / "s.npy", seq_len=3))


def test_csv_windows_are_scaled_and_decode_to_original_units(tmp_path: Path) -> None:
    rows = "\n".join(f"{t},{10 * t}" for t in range(20))
    cfg = _csv(_write(tmp_path / "s.csv", "t,y\n" + rows + "\n"), stride=2)
    data = MODALITY.prepare(cfg)
    assert isinstance(data, SeriesPrepared)
    series = data.series
    assert len(series.train) + len(series.heldout) == 9  # starts 0, 2, ..., 16
    assert data.dataset.tensors[0] is series.train  # type: ignore[attr-defined]
    assert float(series.train.min()) >= 0.0 and float(series.train.max()) <= 1.0
    info = json.loads(json.dumps(data.info))  # saved with the registered model
    assert set(info) == {"seq_len", "columns", "min", "max"}
    assert info["seq_len"] == 3 and info["columns"] == ["t", "y"]
    restored = unscale(series.train.numpy(), info)
    assert np.allclose(restored[:, :, 1], 10 * restored[:, :, 0], atol=1e-3)
    assert len(data.fingerprint) == 16


def test_sines_are_drawn_once_per_seed() -> None:
    cfg = SeriesData(seq_len=6, features=2, n_samples=40)
    first, again = MODALITY.prepare(cfg), MODALITY.prepare(cfg)
    assert first.series.train.shape == (40, 6, 2) and first.series.heldout.shape == (4, 6, 2)
    assert first.fingerprint == again.fingerprint
    assert MODALITY.prepare(cfg.model_copy(update={"seed": 1})).fingerprint != first.fingerprint


def test_user_files_need_a_path_of_their_kind(tmp_path: Path) -> None:
    with pytest.raises(ValidationError, match="dataset 'csv' needs data.path"):
        SeriesData(dataset="csv")
    npy = tmp_path / "s.npy"
    np.save(npy, np.ones((10, 2)))
    with pytest.raises(ValidationError, match="dataset 'csv' expects a .csv file"):
        SeriesData(dataset="csv", path=npy)
    with pytest.raises(ValidationError, match="no such file"):
        SeriesData(dataset="npy", path=tmp_path / "missing.npy")
    with pytest.raises(ValidationError, match="expected a .csv or .npy file"):
        SeriesData(dataset="csv", path=_write(tmp_path / "s.txt", "1\n"))
    assert SeriesData(dataset="npy", path=npy).path == npy.resolve()


def test_timegan_options_are_refused_for_convgan() -> None:
    with pytest.raises(ValidationError, match="supervised_steps = 5 is an option of method timegan"):
        SeriesModel(method="convgan", supervised_steps=5)
    assert SeriesModel(method="timegan", supervised_steps=5).supervised_steps == 5
    with pytest.raises(ValidationError, match="bidirectional_recovery = True is an option of method timegan"):
        SeriesModel(method="convgan", bidirectional_recovery=True)


@pytest.mark.parametrize("bidirectional", [False, True])
def test_a_bidirectional_recovery_decodes_the_first_step_with_later_latents(bidirectional: bool) -> None:
    raw = tiny_series()
    job = load_job_dict({**raw, "model": {**raw["model"], "bidirectional_recovery": bidirectional}})
    g = MODALITY.build_generator(job.model, MODALITY.prepare(job.data))
    h = torch.rand(4, job.data.seq_len, job.model.hidden_dim)
    later = h.clone()
    later[:, -1] += 1.0  # only the last step's latents change
    with torch.no_grad():
        first, first_later = g.recovery(h)[:, 0], g.recovery(later)[:, 0]
    assert torch.equal(first, first_later) is not bidirectional


def test_seq_len_is_declared_once_in_data() -> None:
    raw = tiny_series()
    with pytest.raises(ConfigError, match="model.seq_len: unknown key"):
        load_job_dict({**raw, "model": {**raw["model"], "seq_len": 8}})
    job = load_job_dict(raw)
    latents = MODALITY.sample_latents(job.model, MODALITY.prepare(job.data).info, 5)
    assert latents.shape == (5, job.data.seq_len * job.model.noise_dim)


@pytest.mark.parametrize("method", ["timegan", "convgan"])
def test_job_config_round_trips_with_every_key_dumped(method: str) -> None:
    job = load_job_dict(tiny_series(method))  # type: ignore[arg-type]
    assert load_job_dict(job.to_dict()) == job
