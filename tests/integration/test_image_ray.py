"""The image tiny configs through Ray Train with 2 DDP workers (BatchNorm in G and D, SN in D)."""

from __future__ import annotations

import json
import math
from pathlib import Path

import pytest
import yaml

from ganforge.modalities.image import MODALITY
from ganforge.platform.config import apply_overrides
from tests.conftest import run_cli

pytestmark = pytest.mark.integration


@pytest.mark.parametrize("index", [0, 1], ids=["dcgan-diffaugment", "resnet-conditional"])
def test_two_workers_train_the_tiny_config_and_register(tmp_path: Path, home: Path, index: int) -> None:
    overrides = {"train.runner": "ray", "train.workers": 2}
    if index == 1:
        # Registering a conditional G (tuple output) needs an explicit pt2 input signature in
        # platform/tracking/model.py (MLflow cannot infer one for tuple outputs): train only.
        overrides["tracking.enabled"] = False
    raw = apply_overrides(MODALITY.tiny_configs()[index], overrides)
    config = tmp_path / "job.yaml"
    config.write_text(yaml.safe_dump(raw))
    result = run_cli("train", str(config), "--json", cwd=tmp_path)
    assert result.returncode == 0, result.stderr[-3000:]
    outcome = json.loads(result.stdout.strip().splitlines()[-1])
    metrics = outcome["metrics"]
    assert metrics["step"] == 20
    assert {spec.name for spec in MODALITY.metrics} <= set(metrics)
    assert all(math.isfinite(metrics[spec.name]) for spec in MODALITY.metrics)
    if index == 0:
        assert outcome["model_version"] == "1"
