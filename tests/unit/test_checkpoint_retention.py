"""Checkpoint retention (`train.keep_checkpoints`), the local run's torch thread count, and which
generator a checkpoint's evaluation rebuilds."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import torch

from ganforge.modalities.toy import MODALITY
from ganforge.platform.config import ConfigError, apply_overrides, load_job_dict
from ganforge.platform.config.schema import JobConfig
from ganforge.platform.runners.checkpoint import evaluated_generator, load_state
from ganforge.platform.runners.local import prune_checkpoints, run_local
from tests.unit.test_resume import _losses  # one way to record a run's losses per step


def _job(steps: int, **extra: Any) -> JobConfig:
    raw = apply_overrides(
        MODALITY.tiny_config(),
        {
            "train.steps": steps,
            "train.log_every": 1,
            "train.checkpoint_every": 5,
            "train.sample_every": 0,
            "train.keep_checkpoints": 2,
            "tracking.enabled": False,
            **extra,
        },
    )
    return load_job_dict(raw)


def _names(root: Path) -> list[str]:
    return sorted(path.name for path in root.iterdir())


def test_local_run_keeps_only_the_last_checkpoints_and_the_final_one(tmp_path: Path) -> None:
    # Checkpoints at 5, 10, 15, 20, 25 and the final step 28 (off the checkpoint grid).
    metrics, final = run_local(_job(28), tmp_path)
    assert _names(tmp_path) == ["best", "checkpoint_0000025", "checkpoint_0000028"]  # no partial copies
    assert final == tmp_path / "checkpoint_0000028"
    assert load_state(final)["step"] == 28
    assert metrics["step"] == 28


def test_keep_one_leaves_exactly_the_final_checkpoint(tmp_path: Path) -> None:
    _, final = run_local(_job(15, **{"train.keep_checkpoints": 1}), tmp_path)
    assert _names(tmp_path) == ["best", "checkpoint_0000015"]  # best/: train.keep_best
    assert final == tmp_path / "checkpoint_0000015"


def test_default_keeps_three(tmp_path: Path) -> None:
    job = load_job_dict(apply_overrides(MODALITY.tiny_config(), {"tracking.enabled": False}))
    assert job.train.keep_checkpoints == 3


def test_resume_from_a_pruned_run_reproduces_the_full_run(tmp_path: Path) -> None:
    full = _losses(_job(30), tmp_path / "full")
    _losses(_job(20), tmp_path / "first")  # an interrupted run: stops at step 20
    assert _names(tmp_path / "first") == ["best", "checkpoint_0000015", "checkpoint_0000020"]
    resumed = _losses(_job(30), tmp_path / "second", resume_from=tmp_path / "first/checkpoint_0000020")
    assert sorted(resumed) == list(range(21, 31))
    for step in range(21, 31):
        assert resumed[step] == full[step], f"step {step}: {resumed[step]} != {full[step]}"
    assert _names(tmp_path / "second") == ["best", "checkpoint_0000025", "checkpoint_0000030"]


def test_resuming_in_the_same_folder_never_deletes_the_folder_it_resumed_from(tmp_path: Path) -> None:
    _losses(_job(10), tmp_path)
    start = tmp_path / "checkpoint_0000010"
    resumed = _losses(_job(25), tmp_path, resume_from=start)
    assert sorted(resumed) == list(range(11, 26))
    assert _names(tmp_path) == ["best", "checkpoint_0000010", "checkpoint_0000020", "checkpoint_0000025"]


def test_prune_orders_by_step_and_ignores_other_folders(tmp_path: Path) -> None:
    for name in ["checkpoint_9999999", "checkpoint_10000000", "checkpoint_0000005", "notes", ".x.partial"]:
        (tmp_path / name).mkdir()
    removed = prune_checkpoints(tmp_path, keep=1)
    assert sorted(path.name for path in removed) == ["checkpoint_0000005", "checkpoint_9999999"]
    assert _names(tmp_path) == [".x.partial", "checkpoint_10000000", "notes"]


def test_config_refuses_keeping_no_checkpoint() -> None:
    raw = apply_overrides(MODALITY.tiny_config(), {"train.keep_checkpoints": 0})
    with pytest.raises(ConfigError) as error:
        load_job_dict(raw, source="job.yaml")
    message = str(error.value)
    assert "train.keep_checkpoints = 0" in message
    assert "greater than or equal to 1" in message


def test_ray_train_keeps_as_many_checkpoints_as_the_config_says(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from ganforge.platform.runners import ray_train

    seen: dict[str, Any] = {}

    class Captured(Exception):
        pass

    def fake_trainer(*args: Any, **kwargs: Any) -> None:
        seen.update(kwargs)
        raise Captured

    monkeypatch.setattr(ray_train, "TorchTrainer", fake_trainer)
    with pytest.raises(Captured):
        ray_train.run_ray_train(_job(10, **{"train.keep_checkpoints": 4}), str(tmp_path), "run")
    assert seen["run_config"].checkpoint_config.num_to_keep == 4


def test_local_run_uses_its_cpus_as_torch_threads_and_restores_them(tmp_path: Path) -> None:
    before = torch.get_num_threads()
    during: list[int] = []
    try:
        torch.set_num_threads(2)
        job = _job(5, **{"train.cpus_per_worker": 1})
        run_local(job, tmp_path / "ok", on_progress=lambda s, m: during.append(torch.get_num_threads()))
        assert set(during) == {1}
        assert torch.get_num_threads() == 2

        def fail(step: int, metrics: dict[str, float]) -> None:
            raise RuntimeError("stop")

        with pytest.raises(RuntimeError, match="stop"):
            run_local(job, tmp_path / "failed", on_progress=fail)
        assert torch.get_num_threads() == 2  # restored on failure too
    finally:
        torch.set_num_threads(before)


@pytest.mark.parametrize("ema", [True, False])
def test_the_evaluated_generator_is_the_ema_copy_only_when_ema_is_on(ema: bool) -> None:
    job = _job(1, **{"gan.ema.enabled": ema})
    data = MODALITY.prepare(job.data)
    live, averaged = (MODALITY.build_generator(job.model, data) for _ in range(2))
    torch.nn.init.constant_(next(averaged.parameters()), 0.5)  # the two differ for sure
    state = {"generator": live.state_dict(), "generator_ema": averaged.state_dict()}

    generator = evaluated_generator(job, data, state)

    expected = averaged if ema else live
    assert not generator.training
    for name, tensor in generator.state_dict().items():
        assert torch.equal(tensor, expected.state_dict()[name]), name
