"""Periodic evaluation and the best step: the eval_every rule, the ranking metric, the best
checkpoint kept beside the pruned ones, and the run's best-step tags."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from mlflow.tracking import MlflowClient

from ganforge.modalities.toy import MODALITY
from ganforge.platform.config import ConfigError, apply_overrides, load_job_dict, load_job_file
from ganforge.platform.config.schema import JobConfig
from ganforge.platform.modality import MetricSpec
from ganforge.platform.runners import best
from ganforge.platform.runners.checkpoint import load_state
from tests.unit.test_config import JOB_FILES

# G cannot move (lr 1e-12, no BatchNorm, no EMA), so every evaluation scores the same and the first
# (step 5) stays best, while keep_checkpoints = 1 prunes its folder: a toy job that shows the best
# checkpoint surviving pruning on any runner.
FIRST_EVALUATION_STAYS_BEST: dict[str, Any] = {
    "train.steps": 20,
    "train.checkpoint_every": 5,
    "train.eval_every": 5,
    "train.keep_checkpoints": 1,
    "train.sample_every": 0,
    "gan.g_opt.lr": 1e-12,
    "gan.ema.enabled": False,
    "model.g_batch_norm": False,
    "tracking.register_model": False,
}


def _job(**extra: Any) -> JobConfig:
    return load_job_dict(apply_overrides(MODALITY.tiny_config(), extra), source="job.yaml")


def test_eval_every_must_be_a_multiple_of_checkpoint_every() -> None:
    with pytest.raises(ConfigError) as error:
        _job(**{"train.checkpoint_every": 10, "train.eval_every": 15})
    message = str(error.value)
    assert "train.eval_every = 15" in message and "train.checkpoint_every = 10" in message
    assert len(message.splitlines()) == 1
    assert _job(**{"train.checkpoint_every": 10, "train.eval_every": 20}).train.eval_every == 20
    assert _job(**{"train.checkpoint_every": 10, "train.eval_every": 0}).train.eval_every == 0


def test_best_metric_defaults_to_the_modality_ranking_metric_and_must_be_reported() -> None:
    job = _job()
    spec = MODALITY.ranking_spec(job.data, job.train.best_metric)
    assert (spec.name, spec.higher_is_better) == ("quality", True)
    kl = _job(**{"train.best_metric": "reverse_kl"})
    assert MODALITY.ranking_spec(kl.data, kl.train.best_metric).higher_is_better is False
    with pytest.raises(ConfigError, match=r"train\.best_metric = 'fid' is not reported by toy jobs"):
        _job(**{"train.best_metric": "fid"})


@pytest.mark.parametrize("path", JOB_FILES, ids=lambda p: p.name)
def test_every_shipped_job_evaluates_periodically(path: Path) -> None:
    train = load_job_file(path).train
    assert 0 < train.eval_every < train.steps, "shipped configs show quality over time (RESULTS.md)"


def test_improved_follows_the_metric_direction_and_keeps_the_earlier_tie() -> None:
    higher, lower = MetricSpec("quality", True), MetricSpec("fid", False)
    first = best.improved(None, higher, {"quality": 0.5}, 10)
    assert first == best.BestRecord("quality", 0.5, 10)
    assert best.improved(first, higher, {"quality": 0.5}, 20) is None  # a tie keeps step 10
    assert best.improved(first, higher, {"quality": 0.6}, 20) == best.BestRecord("quality", 0.6, 20)
    assert best.improved(best.BestRecord("fid", 3.0, 5), lower, {"fid": 2.0}, 9).step == 9
    assert best.improved(best.BestRecord("fid", 3.0, 5), lower, {"fid": 4.0}, 9) is None
    assert best.improved(None, higher, {"quality": float("nan")}, 10) is None
    assert best.improved(None, higher, {}, 10) is None  # e.g. audio without labels: no metrics


def test_local_run_keeps_and_tags_the_best_checkpoint_after_pruning(home: Path) -> None:
    from ganforge.pipelines.train import train

    job = _job(**FIRST_EVALUATION_STAYS_BEST)
    outcome = train(job)
    root = Path(outcome.checkpoint).parent
    assert sorted(p.name for p in root.iterdir()) == ["best", "checkpoint_0000020"]
    assert load_state(root / "best")["step"] == 5
    assert json.loads((root / "best" / best.RECORD_FILE).read_text())["step"] == 5
    tags = MlflowClient(tracking_uri=outcome.tracking_uri).get_run(outcome.run_id).data.tags
    assert tags[best.BEST_STEP_TAG] == "5"
    assert float(tags["ganforge.best.quality"]) == pytest.approx(outcome.metrics["quality"], rel=1e-5)
    assert tags[best.BEST_CHECKPOINT_TAG] == str(root / "best")


def test_keep_best_off_keeps_no_copy(tmp_path: Path) -> None:
    from ganforge.platform.runners.local import run_local

    job = _job(**{"train.keep_best": False, "train.eval_every": 10, "tracking.enabled": False})
    _, final = run_local(job, tmp_path)
    assert not (tmp_path / "best").exists()
    assert json.loads((final / best.RECORD_FILE).read_text())["metric"] == "quality"  # still recorded
