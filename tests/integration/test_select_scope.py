"""`ganforge select` ranks the versions of one registered model unless told otherwise: two jobs on
different data that share an experiment (ring-8 and grid-25 did) are not ranked together. Real
trainings into a real MLflow SQLite store, through the CLI."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from mlflow.tracking import MlflowClient

from tests.conftest import run_cli, toy_job_file

pytestmark = pytest.mark.integration

SELECT = ("select", "--experiment", "shared", "--metric", "reverse_kl", "--mode", "min")


def _train(tmp_path: Path, dataset: str) -> dict:
    overrides = {
        "name": f"toy-{dataset}",
        "data.dataset": dataset,
        "tracking.experiment": "shared",
        "tracking.model_name": f"toy-{dataset}",
    }
    config = toy_job_file(tmp_path / dataset, overrides)
    result = run_cli("train", str(config), "--runner", "local", "--json", cwd=config.parent)
    assert result.returncode == 0, result.stderr[-3000:]
    return json.loads(result.stdout.strip().splitlines()[-1])


def _ranked_models(stdout: str) -> list[str]:
    return [line.split()[1] for line in stdout.splitlines() if re.match(r"\d+\s", line)]


def test_select_ranks_one_model_and_names_the_ones_left_out(tmp_path: Path, home: Path) -> None:
    ring = _train(tmp_path, "ring8")
    grid = _train(tmp_path, "grid25")  # registered last: the default candidate

    default = run_cli(*SELECT, cwd=tmp_path)
    assert default.returncode == 0, default.stderr
    assert _ranked_models(default.stdout) == ["toy-grid25"]
    assert "left out: toy-ring8 (1 version; --model toy-ring8 ranks it)" in default.stdout
    client = MlflowClient(tracking_uri=grid["tracking_uri"])
    assert str(client.get_model_version_by_alias("toy-grid25", "champion").version) == grid["model_version"]

    chosen = run_cli(*SELECT, "--model", "toy-ring8", "--dry-run", cwd=tmp_path)
    assert chosen.returncode == 0, chosen.stderr
    assert _ranked_models(chosen.stdout) == ["toy-ring8"] and "left out: toy-grid25" in chosen.stdout
    assert f"best: models:/toy-ring8/{ring['model_version']}" in chosen.stdout

    together = run_cli(*SELECT, "--all-models", "--dry-run", cwd=tmp_path)
    assert together.returncode == 0, together.stderr
    assert sorted(_ranked_models(together.stdout)) == ["toy-grid25", "toy-ring8"]
    assert "left out" not in together.stdout

    unknown = run_cli(*SELECT, "--model", "toy-none", cwd=tmp_path)
    assert unknown.returncode != 0
    lines = unknown.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: --model toy-none: no version of it"), lines
