"""Every registered modality through the same checks (composer-style conformance)."""

from __future__ import annotations

import math
from pathlib import Path

import pytest
import torch

from ganforge.platform.config import load_job_dict
from ganforge.platform.gan import AdversarialStep, GanNets
from ganforge.platform.modality import get_modality, modality_names

NAMES = modality_names()


def test_modalities_are_registered() -> None:
    assert "toy" in NAMES


@pytest.mark.parametrize("name", NAMES)
def test_modality_contract(name: str, tmp_path: Path) -> None:
    modality = get_modality(name)
    job = load_job_dict(modality.tiny_config(), source=f"{name}.tiny_config")
    assert job.modality == name
    g = modality.build_generator(job.model, job.data)
    d = modality.build_discriminator(job.model, job.data)
    dataset = modality.load_dataset(job.data)
    assert len(dataset) >= job.train.batch_size
    batch = job.train.batch_size
    real = torch.stack([torch.as_tensor(dataset[i][0]) for i in range(batch)])
    z = modality.sample_latents(job.model, batch, torch.Generator().manual_seed(0))
    assert g(z).shape == real.shape

    opt_g = torch.optim.Adam(g.parameters(), 1e-3)
    opt_d = torch.optim.Adam(d.parameters(), 1e-3)
    step = AdversarialStep(job.gan, GanNets(g, d, g, d), opt_g, opt_d, torch.device("cpu"))
    before = [p.detach().clone() for p in g.parameters()]
    stats = step.discriminator_step(real, z, 0)
    stats.update(step.generator_step(z))
    assert all(math.isfinite(v.item()) for v in stats.values())
    assert any(not torch.equal(a, b) for a, b in zip(before, g.parameters(), strict=True))

    files = modality.write_samples(g(z).detach(), real, tmp_path)
    assert files and all(f.exists() and f.stat().st_size > 0 for f in files)

    g.eval()
    with torch.no_grad():
        metrics = modality.evaluate(g, dataset, job.model, job.data, seed=0)
    declared = {m.name for m in modality.metrics}
    assert set(metrics) == declared
    assert all(math.isfinite(v) for v in metrics.values())
    assert len(modality.fingerprint(dataset)) == 16
