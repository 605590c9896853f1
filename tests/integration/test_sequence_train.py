"""Sequence end to end (slow on 2 CPU cores): a tiny text job trains and exports; TimeGAN's
post-hoc scores respond to what they measure."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

from ganforge.modalities.sequence import MODALITY, series_metrics
from ganforge.modalities.sequence.tiny import tiny_tokens
from ganforge.platform.config import load_job_dict
from ganforge.platform.runners.local import run_local

pytestmark = pytest.mark.integration


def _sines(n: int, seed: int) -> torch.Tensor:
    g = torch.Generator().manual_seed(seed)
    t = torch.arange(8.0)[None, :, None]
    freq, phase = torch.rand(n, 1, 4, generator=g) * 0.3, torch.rand(n, 1, 4, generator=g)
    return (torch.sin(freq * t + phase) + 1) / 4  # in [0, 0.5]


def test_discriminative_score_separates_unlike_data_and_not_like_data() -> None:
    real, same, shifted = _sines(400, 0), _sines(400, 1), _sines(400, 2) + 0.5
    like = series_metrics.discriminative_score(real, same, steps=300, seed=0)
    unlike = series_metrics.discriminative_score(real, shifted, steps=300, seed=0)
    assert like < 0.15 and unlike > 0.35


def test_predictive_score_is_lower_when_trained_on_like_data() -> None:
    real = _sines(400, 0)
    good = series_metrics.predictive_score(real, _sines(400, 1), steps=100, seed=0)
    bad = series_metrics.predictive_score(real, torch.rand(400, 8, 4), steps=100, seed=0)
    assert good < bad


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
    assert (checkpoint / "state.pt").is_file()
    g = MODALITY.build_generator(job.model, job.data)
    info = MODALITY.describe_samples(MODALITY.load_dataset(job.data), job.data)
    with torch.no_grad():
        fakes = g(MODALITY.sample_latents(job.model, 5))
    [path] = MODALITY.export_samples(fakes, tmp_path / "out", info)
    lines = path.read_text().splitlines()
    assert len(lines) == 5 and all(w in info["vocab"] for line in lines for w in line.split())
