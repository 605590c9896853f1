"""Every registered modality through the same checks (composer-style conformance)."""

from __future__ import annotations

import json
import math
from pathlib import Path

import pytest
import torch
from torch.utils.data._utils.collate import default_collate

from ganforge.platform.config import load_job_dict
from ganforge.platform.gan import GanNets
from ganforge.platform.gan.batch import detach, samples_of
from ganforge.platform.metrics.jobs import job_metric_model
from ganforge.platform.metrics.metric_model import train_metric_model
from ganforge.platform.modality import Modality, Prepared, get_modality, modality_names
from ganforge.platform.runners.loop import build_objective

NAMES = modality_names()


def test_modalities_are_registered() -> None:
    assert "toy" in NAMES


def _config_count(name: str) -> int:
    try:
        return len(get_modality(name).tiny_configs())
    except Exception:  # a modality that fails to load fails its own test, not the collection
        return 1


def _cases() -> list[tuple[str, int]]:
    return [(name, i) for name in NAMES for i in range(_config_count(name))]


@pytest.mark.parametrize(("name", "index"), _cases())
def test_modality_contract(name: str, index: int, tmp_path: Path, home: Path) -> None:
    modality = get_modality(name)
    job = load_job_dict(modality.tiny_configs()[index], source=f"{name}.tiny_configs()[{index}]")
    assert job.modality == name
    data = modality.prepare(job.data)
    assert isinstance(data, Prepared) and len(data.fingerprint) == 16
    json.dumps(data.info)  # saved in the registered model's metadata
    g = modality.build_generator(job.model, data)
    d = modality.build_discriminator(job.model, data)
    assert len(data.dataset) >= job.train.batch_size
    batch = job.train.batch_size
    real = default_collate([data.dataset[i] for i in range(batch)])
    real = real[0] if isinstance(real, list) and len(real) == 1 else real
    real = tuple(real) if isinstance(real, list) else real
    z = modality.sample_latents(job.model, data.info, batch, torch.Generator().manual_seed(0))
    assert samples_of(g(z)).shape == samples_of(real).shape

    objective = build_objective(job, GanNets(g, d, g, d), torch.device("cpu"))
    assert type(objective) in modality.objectives
    before = [p.detach().clone() for p in g.parameters()]
    for index in range(3):  # a few steps: a modality may pre-train G before the adversarial phase
        objective.start_step(index)
        stats = objective.discriminator_step(real, z, index)
        stats.update(objective.generator_step(z, real))
        assert all(math.isfinite(v.item()) for v in stats.values())
    assert any(not torch.equal(a, b) for a, b in zip(before, g.parameters(), strict=True))

    g.eval()
    with torch.no_grad():
        fakes = detach(g(z))
    samples = modality.write_samples(fakes, real, tmp_path / "tracked", data.info)
    assert not samples.is_empty()
    for path in [*samples.images.values(), *samples.files]:
        assert path.exists() and path.stat().st_size > 0
    exported = modality.export_samples(fakes, tmp_path / "exported", data.info)
    assert exported and all(f.exists() and f.stat().st_size > 0 for f in exported)

    # The registry stores G in MLflow's pt2 format: it must export with a dynamic batch size.
    program = torch.export.export(g, (z,), dynamic_shapes=({0: torch.export.Dim("batch")},))
    assert samples_of(program.module()(z[:3])).shape[0] == 3

    # A learned metric model is the same network however often it is trained: hashes agree.
    recipe = modality.metric_model(data, job.data)
    if recipe is not None:
        assert train_metric_model(recipe)[1] == train_metric_model(recipe)[1]
    scorer = job_metric_model(job, data, tracking_uri=None)
    with torch.no_grad():
        metrics = modality.evaluate(g, data, job.model, job.data, 0, scorer)
    declared = {m.name for m in modality.metric_specs(job.data)}
    assert declared <= {m.name for m in modality.metrics}
    assert set(metrics) == declared
    assert modality.ranking_spec(job.data).name in metrics  # what ranks a run's evaluations
    if type(modality).evaluate_periodic is not Modality.evaluate_periodic:  # a cheaper subset
        with torch.no_grad():
            periodic = modality.evaluate_periodic(g, data, job.model, job.data, 0, scorer)
        assert modality.ranking_spec(job.data).name in periodic and set(periodic) <= declared
    assert all(math.isfinite(v) for v in metrics.values())


def test_every_objective_has_a_tiny_config() -> None:
    """The conformance and restore tests reach every objective a modality declares."""
    for name in NAMES:
        modality = get_modality(name)
        used = {modality.objective(load_job_dict(raw).model) for raw in modality.tiny_configs()}
        assert used == set(modality.objectives), name
