"""Every modality through the registry: train its tiny config tracked, then `generate` from the
registered model alone (pt2 program + card), in the modality's own file format."""

from __future__ import annotations

from pathlib import Path

import pytest

from ganforge.pipelines.generate import generate_samples
from ganforge.pipelines.train import train
from ganforge.platform.config import apply_overrides, load_job_dict
from ganforge.platform.modality import get_modality
from tests.conformance.test_modalities import _cases

pytestmark = pytest.mark.integration


@pytest.mark.parametrize(("name", "index"), _cases())
def test_registered_generator_generates_without_the_checkpoint(
    name: str, index: int, tmp_path: Path, home: Path
) -> None:
    raw = get_modality(name).tiny_configs()[index]
    job = load_job_dict(
        apply_overrides(
            raw, {"name": f"registry-{name}-{index}", "train.runner": "local", "train.sample_every": 0}
        )
    )
    outcome = train(job)
    assert outcome.model_version == "1"
    for checkpoint in (home / "checkpoints").rglob("*"):  # generation must not need it
        if checkpoint.is_file():
            checkpoint.unlink()
    files = generate_samples(
        f"models:/{job.model_name}/1", outcome.tracking_uri or "", 6, tmp_path / "out", seed=1
    )
    assert files and all(f.exists() and f.stat().st_size > 0 for f in files)
    again = generate_samples(
        f"models:/{job.model_name}/1", outcome.tracking_uri or "", 6, tmp_path / "again", seed=1
    )
    assert [f.read_bytes() for f in files] == [f.read_bytes() for f in again]  # seeded: the same samples
    if name == "image":  # a truncated draw of the same seed: other latents, so other samples
        uri = f"models:/{job.model_name}/1"
        truncated = generate_samples(uri, outcome.tracking_uri or "", 6, tmp_path / "cut", 1, truncation=0.5)
        assert [f.name for f in truncated] == [f.name for f in files]
        assert [f.read_bytes() for f in truncated] != [f.read_bytes() for f in files]
