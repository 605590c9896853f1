"""Timeseries end to end (slow on 2 CPU cores): TimeGAN's post-hoc scores respond to what they
measure; a job on a user CSV trains, checkpoints and exports windows in the file's own units."""

from __future__ import annotations

import csv
from pathlib import Path

import numpy as np
import pytest
import torch

from ganforge.modalities.timeseries import MODALITY, metrics
from ganforge.modalities.timeseries.tiny import tiny_series
from ganforge.platform.config import load_job_dict
from ganforge.platform.runners.local import run_local

pytestmark = pytest.mark.integration


def _sines(n: int, seed: int) -> torch.Tensor:
    g = torch.Generator().manual_seed(seed)
    t = torch.arange(8.0)[None, :, None]
    freq, phase = torch.rand(n, 1, 4, generator=g) * 0.3, torch.rand(n, 1, 4, generator=g)
    return (torch.sin(freq * t + phase) + 1) / 4  # in [0, 0.5]


def test_discriminative_score_separates_unlike_data_and_not_like_data() -> None:
    real, same, shifted = _sines(400, 0), _sines(400, 1), _sines(400, 2) + 0.5
    like = metrics.discriminative_score(real, same, steps=300, seed=0)
    unlike = metrics.discriminative_score(real, shifted, steps=300, seed=0)
    assert like < 0.15 and unlike > 0.35


def test_predictive_score_is_lower_when_trained_on_like_data() -> None:
    real = _sines(400, 0)
    good = metrics.predictive_score(real, _sines(400, 1), steps=100, seed=0)
    bad = metrics.predictive_score(real, torch.rand(400, 8, 4), steps=100, seed=0)
    assert good < bad


@pytest.mark.parametrize("method", ["timegan", "convgan"])
def test_csv_job_trains_and_exports_in_original_units(tmp_path: Path, method: str) -> None:
    t = np.arange(300)
    table = np.stack([100 + 10 * np.sin(t / 5), -3 + np.cos(t / 7)], axis=1)
    path = tmp_path / "series.csv"
    np.savetxt(path, table, delimiter=",", header="level,swing", comments="")
    raw = tiny_series(method)  # type: ignore[arg-type]
    raw["data"] = {"dataset": "csv", "path": str(path), "seq_len": 8, "eval_samples": 64,
                   "discriminative_steps": 5, "predictive_steps": 5}  # fmt: skip
    raw["tracking"] = {"enabled": False}
    job = load_job_dict(raw)
    scores, checkpoint = run_local(job, tmp_path / "ckpt")
    assert {m.name for m in MODALITY.metric_specs(job.data)} <= set(scores)
    assert (checkpoint / "state.pt").is_file()

    data = MODALITY.prepare(job.data)
    g = MODALITY.build_generator(job.model, data)
    g.load_state_dict(torch.load(checkpoint / "state.pt", weights_only=False)["generator"])
    with torch.no_grad():
        fakes = g.eval()(MODALITY.sample_latents(job.model, data.info, 5))
    [exported] = MODALITY.export_samples(fakes, tmp_path / "out", data.info)
    with exported.open() as handle:
        rows = list(csv.DictReader(handle))
    assert len(rows) == 5 * 8 and set(rows[0]) == {"sample", "t", "level", "swing"}
    # G's outputs are in [0, 1] scaled units, so decoded values lie within the file's own range.
    levels = np.array([float(row["level"]) for row in rows])
    low, high = table[:, 0].min(), table[:, 0].max()
    assert ((levels >= low - 1e-3) & (levels <= high + 1e-3)).all() and levels.std() > 0
