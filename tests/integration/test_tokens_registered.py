"""A registered tokens model, reused (issue 17): `ganforge evaluate --tokens FILE` scores its NLL on
any file, and an adversarial job (or a sweep of them) starts from it with its weights and its MLE
Adam state."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch
import yaml

from ganforge.modalities.tokens.metrics import heldout_nll
from ganforge.modalities.tokens.nets import TokenGenerator
from ganforge.modalities.tokens.tiny import tiny_tokens
from ganforge.pipelines.train import train
from ganforge.platform.config import apply_overrides, load_job_dict
from ganforge.platform.config.schema import JobConfig
from ganforge.platform.errors import ConfigError
from ganforge.platform.gan.handoff import handoff_file
from ganforge.platform.runners.checkpoint import load_state
from ganforge.platform.tracking.registry import load_generator
from tests.conftest import run_cli

pytestmark = pytest.mark.integration


def _job(method: str, name: str, **changes: object) -> JobConfig:
    base = {"name": name, "train.sample_every": 0, "train.checkpoint_every": 6}
    return load_job_dict(apply_overrides(tiny_tokens(method), {**base, **changes}))


def test_registered_mle_model_scores_files_and_starts_an_adversarial_job(tmp_path: Path, home: Path) -> None:
    mle = train(_job("mle", "tok-mle"))  # 6 MLE steps, registered as models:/tok-mle/1
    uri = f"models:/{mle.model_name}/{mle.model_version}"

    # NLL of a new file under the registered generator, read as the job read its data (token ids).
    rows = torch.randint(0, 50, (30, 8), generator=torch.Generator().manual_seed(3))
    good = tmp_path / "test.txt"
    good.write_text("\n".join(" ".join(map(str, row)) for row in rows.tolist()) + "\n")
    scored = run_cli("evaluate", uri, "--tokens", str(good), "--json")
    assert scored.returncode == 0, scored.stderr
    result = json.loads(scored.stdout.strip().splitlines()[-1])
    loaded = load_generator(uri, mle.tracking_uri or "")
    g = TokenGenerator(load_job_dict(loaded.card.job).model, 50, 8)  # type: ignore[arg-type]
    g.load_state_dict(loaded.module.state_dict())
    assert result["sequences"] == 30 and result["nll"] == pytest.approx(heldout_nll(g, rows), rel=1e-5)
    bad = tmp_path / "bad.txt"
    bad.write_text("1 2 3 4 5 6 7 8\n1 2 3 4 5 6 7 99\n")
    refused = run_cli("evaluate", uri, "--tokens", str(bad))
    assert refused.returncode == 2 and refused.stdout == ""
    assert refused.stderr.strip().splitlines() == [
        f"error: {bad}: line 2, token 8: '99' is not below the vocabulary size 50"
    ]

    # SeqGAN from the registered model: 2 more MLE steps (D pre-training) continue its Adam (6 + 2).
    seqgan = train(_job("seqgan", "tok-seqgan", **{"model.init_generator": uri, "model.pretrain_steps": 2}))
    state = load_state(Path(seqgan.checkpoint))
    adam_steps = {float(s["step"]) for s in state["optimizers"]["mle"]["state"].values()}
    assert adam_steps == {8.0}
    assert seqgan.model_version == "1" and "oracle_nll" in seqgan.metrics
    _sweep_starts_from(uri, tmp_path)


def _sweep_starts_from(uri: str, tmp_path: Path) -> None:
    """A sweep's trials start from the registered model too: the driver fetches its hand-off state
    (here after the cached copy is gone, so only the sweep can have put it back)."""
    handoff_file(uri).unlink()
    job = apply_overrides(tiny_tokens("gumbel"), {"name": "tok-sweep", "train.sample_every": 0})
    sweep = {
        "name": "tok-sweep",
        "job": {**job, "model": {**job["model"], "init_generator": uri}},
        "space": {"gan.g_opt.lr": {"choice": [1.0e-4, 1.0e-3]}},
        "metric": "oracle_nll",
        "mode": "min",
        "report_every": 3,
        "num_samples": 2,
        "max_concurrent": 1,
    }
    path = tmp_path / "sweep.yaml"
    path.write_text(yaml.safe_dump(sweep))
    result = run_cli("sweep", str(path), "--json", cwd=tmp_path)
    assert result.returncode == 0, result.stderr[-3000:]
    trials = json.loads(result.stdout.strip().splitlines()[-1])["trials"]
    assert [t["outcome"] for t in trials] == ["completed", "completed"]
    assert handoff_file(uri).is_file()


def test_an_unknown_start_is_refused_before_any_run(home: Path) -> None:
    job = _job("gumbel", "tok-missing", **{"model.init_generator": "models:/no-such-model/1"})
    with pytest.raises(
        ConfigError, match=r"^model.init_generator = 'models:/no-such-model/1': .*not in the model registry"
    ):
        train(job)
    assert not (home / "checkpoints").exists()  # nothing started
