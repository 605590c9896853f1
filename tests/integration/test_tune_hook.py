"""The Tune hook: trial parameters reach the loop through the override function."""

from __future__ import annotations

from pathlib import Path

import pytest
import ray
from ray import tune

from ganforge.modalities.toy import MODALITY
from ganforge.platform.cluster.connect import connect
from ganforge.platform.config import apply_overrides
from ganforge.platform.runners.tune_trial import trial_job, tune_trainable

pytestmark = pytest.mark.integration


def test_trial_parameters_use_the_override_mechanism() -> None:
    job = trial_job({"job": MODALITY.tiny_config(), "gan.n_critic": 3, "gan.g_opt.lr": "1e-3"})
    assert job.gan.n_critic == 3
    assert job.gan.g_opt.lr == pytest.approx(1e-3)


def test_function_trainable_runs_trials_in_tune(tmp_path: Path) -> None:
    base = apply_overrides(MODALITY.tiny_config(), {"tracking.enabled": False, "train.sample_every": 0})
    connect(num_cpus=2)
    try:
        tuner = tune.Tuner(
            tune_trainable,
            param_space={"job": base, "gan.loss": tune.grid_search(["hinge", "least_squares"])},
            # Evaluation metrics come with the final report only, so no TuneConfig metric here
            # (Tune would demand it in every report); a sweep picks the best trial afterwards.
            run_config=tune.RunConfig(storage_path=str(tmp_path), name="hook"),
        )
        results = tuner.fit()
    finally:
        ray.shutdown()
    assert results.num_errors == 0
    assert len(results) == 2
    for result in results:
        assert result.metrics["step"] == 20
        assert 0 <= result.metrics["modes"] <= 8
        assert result.checkpoint is not None
