"""Tokens end to end (slow on 2 CPU cores): a tiny text job trains, and its generator's samples
decode back to text through the facts saved with the model."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

from ganforge.modalities.tokens import MODALITY
from ganforge.modalities.tokens.tiny import tiny_tokens
from ganforge.platform.config import load_job_dict
from ganforge.platform.runners.checkpoint import load_state
from ganforge.platform.runners.local import run_local

pytestmark = pytest.mark.integration


def test_text_job_trains_and_decodes_generated_text(tmp_path: Path) -> None:
    corpus = tmp_path / "corpus.txt"
    corpus.write_text("\n".join(f"the cat sat on mat {i % 7}." for i in range(200)) + "\n")
    raw = tiny_tokens("gumbel")
    raw["data"] = {
        "dataset": "text",
        "path": str(corpus),
        "tokenizer": "word",
        "seq_len": 8,
        "eval_samples": 64,
    }
    raw["tracking"] = {"enabled": False}
    job = load_job_dict(raw)
    metrics, checkpoint = run_local(job, tmp_path / "ckpt")
    assert {"heldout_nll", "bleu4", "self_bleu4", "quality"} == {
        k for k in metrics if k in {m.name for m in MODALITY.metrics}
    }
    data = MODALITY.prepare(job.data)
    g = MODALITY.build_generator(job.model, data)
    g.load_state_dict(load_state(checkpoint)["generator"])
    with torch.no_grad():
        fakes = g(MODALITY.sample_latents(job.model, data.info, 5))
    [path] = MODALITY.export_samples(fakes, tmp_path / "out", data.info)
    lines = path.read_text().splitlines()
    assert len(lines) == 5 and all(w in data.info["vocab"] for line in lines for w in line.split())
