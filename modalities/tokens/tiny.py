"""Tiny jobs, one per objective, that the conformance tests train in seconds."""

from __future__ import annotations

from typing import Any

from ganforge.platform.modality import tiny_train


def tiny_tokens(method: str = "seqgan") -> dict[str, Any]:
    """A 50-token oracle at length 8; two MLE steps, then the adversarial method."""
    return {
        "name": f"tokens-tiny-{method}",
        "modality": "tokens",
        "data": {"dataset": "oracle", "vocab_size": 50, "seq_len": 8, "n_samples": 200, "eval_samples": 64},
        "model": {
            "method": method,
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
        "train": tiny_train(),
    }
