"""`ganforge modalities` lists every registered modality, its objectives and its shipped configs."""

from __future__ import annotations

import json

from ganforge.pipelines.catalog import list_modalities
from ganforge.platform.modality import modality_names
from tests.conftest import REPO, run_cli


def test_every_modality_with_its_objectives_and_configs() -> None:
    entries = {e.name: e for e in list_modalities(REPO / "configs")}
    assert sorted(entries) == modality_names() == ["audio", "image", "timeseries", "tokens", "toy"]
    assert [o.name for o in entries["tokens"].objectives] == ["mle", "seqgan", "gumbel"]
    assert entries["tokens"].configs[str(REPO / "configs/tokens/oracle_seqgan.yaml")] == "seqgan"
    assert entries["timeseries"].configs[str(REPO / "configs/timeseries/sines_timegan.yaml")] == "timegan"
    timegan = next(o for o in entries["timeseries"].objectives if o.name == "timegan")
    assert "loss" not in timegan.gan_options and "g_opt" in timegan.gan_options
    assert all(entry.configs for entry in entries.values())  # every modality ships a config


def test_the_command_prints_text_and_json() -> None:
    text = run_cli("modalities")
    assert text.returncode == 0, text.stderr
    assert "objective seqgan: honours gan." in text.stdout and "configs/toy/ring8.yaml" in text.stdout
    as_json = run_cli("modalities", "--json")
    assert {e["name"] for e in json.loads(as_json.stdout)} == set(modality_names())
