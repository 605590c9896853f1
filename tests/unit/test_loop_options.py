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
    state = torch.load(final / "state.pt", weights_only=False)
    expected = {"step", "generator", "discriminator", "generator_ema", "optimizers", "objective"}
    assert set(state) == expected


# The penalty's config key, the metric it reports, and a weight to step by.
PENALTIES = {
    "wgan-gp": ("gan.gradient_penalty", "gradient_penalty", 10.0),
    "r1": ("gan.r1_gamma", "r1_penalty", 1.0),
}


def _first_d_step(overrides: dict, root: Path) -> tuple[float, dict[str, float], dict[str, torch.Tensor]]:
    """Trains one step (one D update) and returns D's gradient norm, the metrics and D's weights."""
    raw = apply_overrides(
        MODALITY.tiny_config(),
        {
            "tracking.enabled": False,
            "train.steps": 1,
            "train.log_every": 1,
            "train.sample_every": 0,
            "gan.loss": "wasserstein",  # the critic loss WGAN-GP was made for; R1 works with any
            "gan.r1_every": 4,  # lazy R1: the first D step (index 0) is a regularised one
            **overrides,
        },
    )
    metrics, final = run_local(load_job_dict(raw), root)
    weights = torch.load(final / "state.pt", weights_only=False)["discriminator"]
    return metrics["grad_norm_d"], metrics, weights


@pytest.mark.parametrize("name", sorted(PENALTIES))
def test_penalty_enters_d_update_with_its_weight(name: str, tmp_path: Path) -> None:
    """D's gradient with penalty weight w is g + w * c * p (g: the loss's gradient, p: the penalty's,
    c: a constant such as R1's laziness factor), so its squared norm is a quadratic in w. The
    quadratic's second difference, 2 * (c * |p| * dw)^2, is positive only if the penalty reaches D's
    update; its third difference is zero only if the penalty is scaled by the configured weight."""
    key, metric, dw = PENALTIES[name]
    runs = [_first_d_step({key: k * dw}, tmp_path / str(k)) for k in range(4)]
    sq0, sq1, sq2, sq3 = (norm**2 for norm, _, _ in runs)  # squared gradient norms at w = 0, dw, 2dw, 3dw
    assert metric not in runs[0][1]  # weight 0: the penalty is off
    assert all(metrics[metric] > 0 for _, metrics, _ in runs[1:])
    assert sq0 - 2 * sq1 + sq2 > 1e-3 * sq2
    assert sq0 - 3 * sq1 + 3 * sq2 - sq3 == pytest.approx(0.0, abs=1e-4 * sq3)
    off, on = runs[0][2], runs[1][2]
    assert any(not torch.equal(off[t], on[t]) for t in off)  # D took another step
