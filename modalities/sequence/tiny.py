"""Tiny jobs, one per kind, that the conformance tests train in seconds."""

from __future__ import annotations

from typing import Any

TRAIN = {
    "steps": 6,
    "batch_size": 16,
    "log_every": 2,
    "checkpoint_every": 3,
    "sample_every": 3,
    "runner": "local",
}


def tiny_tokens(method: str = "seqgan") -> dict[str, Any]:
    """A 50-token oracle at length 8; two MLE steps, then the adversarial method."""
    return {
        "name": f"sequence-tiny-{method}",
        "modality": "sequence",
        "data": {"dataset": "oracle", "vocab_size": 50, "seq_len": 8, "n_samples": 200, "eval_samples": 64},
        "model": {
            "method": method,
            "seq_len": 8,
            "hidden_dim": 16,
            "embed_dim": 8,
            "d_embed_dim": 8,
            "d_num_filters": 8,
            "d_filter_sizes": [2, 3],
            "pretrain_steps": 2,
            "d_pretrain_steps": 1,
            "rollouts": 2,
            "temperature_max": 10.0,
        },
        "train": TRAIN,
    }


def tiny_series(method: str = "timegan") -> dict[str, Any]:
    """3-feature sines of length 8; TimeGAN: one embedding step, one supervised, then joint."""
    return {
        "name": f"sequence-tiny-{method}",
        "modality": "sequence",
        "data": {
            "dataset": "sines",
            "seq_len": 8,
            "features": 3,
            "n_samples": 200,
            "eval_samples": 64,
            "discriminative_steps": 5,
            "predictive_steps": 5,
        },
        "model": {
            "method": method,
            "seq_len": 8,
            "hidden_dim": 8,
            "num_layers": 2,
            "noise_dim": 3,
            "pretrain_steps": 1,
            "supervised_steps": 1,
        },
        "gan": {
            "g_opt": {"lr": 1.0e-3, "betas": [0.9, 0.999]},
            "d_opt": {"lr": 1.0e-3, "betas": [0.9, 0.999]},
        },
        "train": TRAIN,
    }
