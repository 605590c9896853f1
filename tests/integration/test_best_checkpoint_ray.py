"""The best checkpoint on the Ray Train runner: kept beside Ray's last-k checkpoints, tagged."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from mlflow.tracking import MlflowClient

from ganforge.platform.runners import best
from ganforge.platform.runners.checkpoint import load_state
from tests.conftest import run_cli, toy_job_file
from tests.unit.test_best_checkpoint import FIRST_EVALUATION_STAYS_BEST

pytestmark = pytest.mark.integration


def test_ray_train_keeps_the_best_checkpoint_out_of_pruning(tmp_path: Path, home: Path) -> None:
    # CheckpointConfig(num_to_keep=1) leaves only the final checkpoint; best/ keeps step 5.
    config = toy_job_file(
        tmp_path,
        {"train.runner": "ray", **FIRST_EVALUATION_STAYS_BEST},
    )
    result = run_cli("train", str(config), "--json", cwd=tmp_path)
    assert result.returncode == 0, result.stderr[-3000:]
    outcome = json.loads(result.stdout.strip().splitlines()[-1])
    tags = MlflowClient(tracking_uri=outcome["tracking_uri"]).get_run(outcome["run_id"]).data.tags
    assert tags[best.BEST_STEP_TAG] == "5"
    kept = Path(tags[best.BEST_CHECKPOINT_TAG])
    assert kept.name == "best" and kept.parent.parent == home / "ray"  # <storage>/<run name>/best
    assert load_state(kept)["step"] == 5
    assert json.loads((kept / best.RECORD_FILE).read_text())["step"] == 5
    ray_checkpoints = [p for p in kept.parent.iterdir() if p.is_dir() and p.name.startswith("checkpoint_")]
    assert len(ray_checkpoints) == 1 and load_state(ray_checkpoints[0])["step"] == 20
