"""The built-in seasonal set: drawn once per seed, shaped and scaled as the config says, its
cycles and regimes present, its held-out windows disjoint in time, bad options refused."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from ganforge.modalities.timeseries import MODALITY
from ganforge.modalities.timeseries.config import SeriesData
from ganforge.modalities.timeseries.data import DAY, SeriesPrepared, _markov_chain, seasonal_series
from ganforge.modalities.timeseries.tiny import tiny_series
from ganforge.platform.config import ConfigError, load_job_dict


def _cfg(**extra: object) -> SeriesData:
    return SeriesData(**{"dataset": "seasonal", "seq_len": 12, "features": 3, "n_samples": 50, **extra})


def test_seasonal_windows_are_deterministic_shaped_and_scaled() -> None:
    first, again = MODALITY.prepare(_cfg()), MODALITY.prepare(_cfg())
    assert isinstance(first, SeriesPrepared)
    series = first.series
    assert series.train.shape == (50, 12, 3) and series.heldout.shape == (5, 12, 3)
    assert series.train.dtype == torch.float32
    assert torch.equal(series.train, again.series.train) and first.fingerprint == again.fingerprint
    assert MODALITY.prepare(_cfg(seed=1)).fingerprint != first.fingerprint
    both = torch.cat([series.train, series.heldout])
    assert float(both.min()) == 0.0 and float(both.max()) == pytest.approx(1.0)
    assert first.info["columns"] == ["channel0", "channel1", "channel2"]
    # consecutive training windows are one step apart in one series
    assert torch.equal(series.train[0, 1:], series.train[1, :-1])


def test_heldout_windows_come_after_the_training_windows() -> None:
    cfg = _cfg()
    raw = seasonal_series(50 + 5 + 2 * 11, 3, cfg.regimes, cfg.noise, cfg.seed)
    series = MODALITY.prepare(cfg).series
    low, high = np.asarray(series.minimum), np.asarray(series.maximum)
    restored = series.heldout.double().numpy() * (high - low) + low
    assert np.allclose(restored[0], raw[61:73], atol=1e-5)  # 50 + 11 steps of training windows before
    assert np.allclose(series.train[-1].double().numpy() * (high - low) + low, raw[49:61], atol=1e-5)


def test_daily_cycle_and_regimes_are_there() -> None:
    x = seasonal_series(24 * 200, 2, regimes=3, noise=0.0, seed=3)
    detrended = x - np.convolve(x[:, 0], np.ones(DAY) / DAY, mode="same")[:, None]
    lagged = np.corrcoef(detrended[DAY:-DAY, 0], detrended[2 * DAY :, 0])[0, 1]
    assert lagged > 0.5  # one day later the cycle repeats
    states = _markov_chain(10_000, 3, np.random.default_rng(0))
    assert set(states.tolist()) == {0, 1, 2}
    switches = int((states[1:] != states[:-1]).sum())
    assert 80 < switches < 200  # about one switch every 72 steps
    assert set(_markov_chain(500, 1, np.random.default_rng(0)).tolist()) == {0}


def test_bad_seasonal_options_are_config_errors() -> None:
    raw = tiny_series()
    data = {**raw["data"], "dataset": "seasonal"}
    with pytest.raises(ConfigError, match="data.regimes") as error:
        load_job_dict({**raw, "data": {**data, "regimes": 0}})
    assert "greater than or equal to 1" in str(error.value)
    with pytest.raises(ConfigError, match="regimes = 4 is an option of dataset seasonal, not sines"):
        load_job_dict({**raw, "data": {**raw["data"], "regimes": 4}})
    with pytest.raises(ConfigError, match="data.noise"):
        load_job_dict({**raw, "data": {**data, "noise": -0.1}})
    job = load_job_dict({**raw, "data": {**data, "regimes": 2}})
    assert load_job_dict(job.to_dict()) == job  # every key dumped loads again
