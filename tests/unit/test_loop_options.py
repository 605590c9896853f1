"""Every GAN-core switch is reachable from the config and trains without error."""

from __future__ import annotations

import math
from pathlib import Path

import pytest
import torch

from ganforge.modalities.toy import MODALITY
from ganforge.platform.config import apply_overrides, load_job_dict
from ganforge.platform.runners.local import run_local

OPTIONS = {
    "bf16 + spectral norm + clipping": {
        "gan.precision": "bf16",
        "gan.spectral_norm": True,
        "gan.grad_clip": 1.0,
    },
    "wgan-gp + n_critic": {"gan.loss": "wasserstein", "gan.gradient_penalty": 10.0, "gan.n_critic": 3},
    "hinge + lazy r1 + ttur": {
        "gan.loss": "hinge",
        "gan.r1_gamma": 1.0,
        "gan.r1_every": 2,
        "gan.g_opt.lr": 1e-4,
        "gan.d_opt.lr": 4e-4,
        "gan.d_opt.betas": [0.0, 0.9],
    },
    "least squares, no ema, pack 2": {"gan.loss": "least_squares", "gan.ema.enabled": False, "model.pack": 2},
}


@pytest.mark.parametrize("name", sorted(OPTIONS))
def test_option_trains(name: str, tmp_path: Path) -> None:
    raw = apply_overrides(
        MODALITY.tiny_config(),
        {"tracking.enabled": False, "train.steps": 10, "train.sample_every": 0, **OPTIONS[name]},
    )
    job = load_job_dict(raw)
    metrics, final = run_local(job, tmp_path)
    assert metrics["step"] == 10
    assert all(math.isfinite(v) for v in metrics.values())
    if job.gan.gradient_penalty:
        assert metrics["gradient_penalty"] >= 0
    state = torch.load(final / "state.pt", weights_only=False)
    expected = {"step", "generator", "discriminator", "generator_ema", "opt_g", "opt_d", "step_state"}
    assert set(state) == expected
