"""Tiny jobs, one per objective, that the conformance tests train in seconds."""

from __future__ import annotations

from typing import Any, Literal

from ganforge.platform.modality import tiny_train


def tiny_series(method: Literal["timegan", "convgan"] = "timegan") -> dict[str, Any]:
    """3-feature sines of length 8; TimeGAN: one embedding step, one supervised, then joint."""
    model: dict[str, Any] = {"method": method, "hidden_dim": 8, "num_layers": 2, "noise_dim": 3}
    if method == "timegan":
        model.update(embedding_steps=1, supervised_steps=1)
    return {
        "name": f"timeseries-tiny-{method}",
        "modality": "timeseries",
        "data": {
            "dataset": "sines",
            "seq_len": 8,
            "features": 3,
            "n_samples": 200,
            "eval_samples": 64,
            "discriminative_steps": 5,
            "predictive_steps": 5,
        },
        "model": model,
        "gan": {
            "g_opt": {"lr": 1.0e-3, "betas": [0.9, 0.999]},
            "d_opt": {"lr": 1.0e-3, "betas": [0.9, 0.999]},
        },
        "train": tiny_train(),
    }
