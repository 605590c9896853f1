"""Typed configs: every shipped file validates; overrides coerce; bad configs give one line."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from ganforge.platform.config import (
    ConfigError,
    apply_overrides,
    load_job_dict,
    load_job_file,
    parse_override,
)
from tests.conftest import REPO, run_cli

SHIPPED = sorted((REPO / "configs").rglob("*.yaml"))
JOB_FILES = [p for p in SHIPPED if "sweeps" not in p.parts]


@pytest.mark.parametrize("path", JOB_FILES, ids=lambda p: str(p.relative_to(REPO)))
def test_every_shipped_job_config_validates(path: Path) -> None:
    job = load_job_file(path)
    assert job.name
    # The resolved config round-trips: what is logged can be loaded again.
    assert load_job_dict(job.to_dict()) == job


def test_configs_are_frozen() -> None:
    job = load_job_file(REPO / "configs/toy/grid25.yaml")
    with pytest.raises(ValueError):
        job.train.steps = 5  # type: ignore[misc]


def test_overrides_are_typed_by_the_schema() -> None:
    overrides = dict(
        parse_override(item)
        for item in [
            "gan.g_opt.lr=1e-4",
            "gan.n_critic=5",
            "gan.g_opt.betas=[0.0, 0.9]",
            "gan.spectral_norm=true",
            "train.runner=local",
        ]
    )
    job = load_job_file(REPO / "configs/toy/grid25.yaml", overrides)
    assert job.gan.g_opt.lr == pytest.approx(1e-4)
    assert job.gan.n_critic == 5
    assert job.gan.g_opt.betas == (0.0, 0.9)
    assert job.gan.spectral_norm is True


def test_apply_overrides_creates_sections_and_leaves_input_alone() -> None:
    raw = {"gan": {"loss": "hinge"}}
    result = apply_overrides(raw, {"gan.ema.decay": 0.99, "train.steps": 3})
    assert result == {"gan": {"loss": "hinge", "ema": {"decay": 0.99}}, "train": {"steps": 3}}
    assert raw == {"gan": {"loss": "hinge"}}


BAD = {
    "unknown key": (
        {"gan.learning_rate": 0.1},
        "gan.learning_rate: unknown key (expected one of: loss",
    ),
    "wrong type": ({"train.steps": "many"}, "train.steps = 'many'"),
    "negative lr": ({"gan.g_opt.lr": -0.1}, "gan.g_opt.lr = -0.1: Input should be greater than 0"),
    "unknown modality": ({"modality": "smell"}, "modality = 'smell': unknown modality"),
    "missing data path": (
        {"data.dataset": "file", "data.path": "/no/such/points.npy"},
        "data.path = '/no/such/points.npy': no such file",
    ),
}


@pytest.mark.parametrize("case", sorted(BAD))
def test_bad_config_names_key_value_and_expectation(case: str) -> None:
    overrides, expected = BAD[case]
    with pytest.raises(ConfigError) as error:
        load_job_file(REPO / "configs/toy/grid25.yaml", overrides)
    message = str(error.value)
    assert expected in message
    assert "\n" not in message


@pytest.mark.parametrize("case", sorted(BAD))
def test_cli_exits_2_with_one_line_and_no_traceback(case: str, tmp_path: Path) -> None:
    raw = yaml.safe_load((REPO / "configs/toy/grid25.yaml").read_text())
    bad = tmp_path / "bad.yaml"
    bad.write_text(yaml.safe_dump(apply_overrides(raw, BAD[case][0])))
    result = run_cli("train", str(bad), "--dry-run", cwd=tmp_path)
    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: ")
    assert "Traceback" not in result.stderr
    assert not (tmp_path / "ganforge-runs").exists()  # nothing started, nothing written


def test_missing_file_and_broken_yaml(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="config file not found"):
        load_job_file(tmp_path / "nope.yaml")
    broken = tmp_path / "broken.yaml"
    broken.write_text("name: x\ngan: [unclosed\n")
    with pytest.raises(ConfigError, match=r"line \d+, column \d+: invalid YAML"):
        load_job_file(broken)


def test_dry_run_prints_resolved_config(tmp_path: Path) -> None:
    result = run_cli(
        "train",
        str(REPO / "configs/toy/grid25.yaml"),
        "--dry-run",
        "--set",
        "gan.n_critic=3",
        "--workers",
        "2",
        cwd=tmp_path,
    )
    assert result.returncode == 0, result.stderr
    resolved = yaml.safe_load(result.stdout)
    assert resolved["gan"]["n_critic"] == 3
    assert resolved["train"]["workers"] == 2
    shipped = yaml.safe_load((REPO / "configs/toy/grid25.yaml").read_text())
    assert resolved["gan"]["g_opt"]["lr"] == pytest.approx(shipped["gan"]["g_opt"]["lr"])  # from the file
