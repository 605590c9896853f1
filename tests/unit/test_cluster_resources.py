"""What a job asks of the Ray cluster against what the cluster's nodes have (no Ray started)."""

from __future__ import annotations

import pytest

from ganforge.modalities.toy import MODALITY
from ganforge.platform.cluster.resources import AUTOSCALING_ENV, ResourceRequest, autoscales, shortfall
from ganforge.platform.config import apply_overrides, load_job_dict
from ganforge.platform.config.sweep import ResourcesConfig


def _job(**train: object) -> ResourceRequest:
    overrides = {f"train.{key}": value for key, value in train.items()}
    return ResourceRequest.for_job(load_job_dict(apply_overrides(MODALITY.tiny_config(), overrides)))


def test_more_workers_than_cpus_names_train_workers_and_the_cluster() -> None:
    assert shortfall(_job(workers=3), [{"CPU": 2.0}]) == (
        "train.workers = 3 needs 3 CPUs (1 per worker); the Ray cluster has 2 CPUs in total (largest node 2)"
    )


def test_what_fits_is_not_refused() -> None:
    assert shortfall(_job(workers=2), [{"CPU": 2.0}]) is None
    assert shortfall(_job(workers=4, cpus_per_worker=2), [{"CPU": 4.0}, {"CPU": 4.0}]) is None
    assert shortfall(_job(workers=2, use_gpu=True), [{"CPU": 8.0, "GPU": 2.0}]) is None


def test_a_worker_larger_than_every_node_names_its_setting() -> None:
    assert shortfall(_job(cpus_per_worker=4), [{"CPU": 2.0}, {"CPU": 3.0}]) == (
        "train.cpus_per_worker = 4 needs 4 CPUs on one node; "
        "the Ray cluster has 5 CPUs in total (largest node 3)"
    )
    assert shortfall(_job(use_gpu=True), [{"CPU": 16.0}]) == (
        "train.use_gpu = true needs 1 GPU on one node; the Ray cluster has no GPUs"
    )


def test_gpus_are_counted_per_worker() -> None:
    assert shortfall(_job(workers=3, use_gpu=True), [{"CPU": 16.0, "GPU": 2.0}]) == (
        "train.workers = 3 needs 3 GPUs (1 per worker); the Ray cluster has 2 GPUs in total (largest node 2)"
    )


def test_enough_in_total_but_not_on_any_node_for_whole_workers() -> None:
    message = shortfall(_job(workers=2, cpus_per_worker=2), [{"CPU": 3.0}, {"CPU": 1.0}])
    assert message == (
        "train.workers = 2 needs 2 workers of 2 CPUs on one node each; "
        "the Ray cluster has 4 CPUs in total (largest node 3): room for 1"
    )


def test_cpus_and_gpus_on_different_nodes_cannot_hold_a_worker() -> None:
    message = shortfall(_job(use_gpu=True, cpus_per_worker=4), [{"CPU": 4.0}, {"CPU": 1.0, "GPU": 1.0}])
    assert message == "one worker needs 4 CPUs and 1 GPU on one node; no node has both"


def test_a_single_worker_trial_is_one_bundle_of_cpu_and_fractional_gpu() -> None:
    trial = ResourceRequest.for_trial(ResourcesConfig(cpu=1, gpu=0.5))
    assert (trial.workers, trial.cpus, trial.gpus) == (1, 1, 0.5)
    assert shortfall(trial, [{"CPU": 2.0, "GPU": 0.5}]) is None
    assert shortfall(trial, [{"CPU": 2.0}]) == (
        "resources.gpu = 0.5 needs 0.5 GPUs on one node per trial; the Ray cluster has no GPUs"
    )


def test_a_multi_worker_trial_nests_workers_with_whole_gpus() -> None:
    trial = ResourceRequest.for_trial(ResourcesConfig(workers=2, cpu=1, gpu=0.5))
    assert (trial.workers, trial.cpus, trial.gpus) == (2, 1, 1)  # TorchTrainer use_gpu: 1 GPU a worker
    assert shortfall(ResourceRequest.for_trial(ResourcesConfig(workers=3)), [{"CPU": 2.0}]) == (
        "resources.workers = 3 needs 3 CPUs per trial (1 per worker); "
        "the Ray cluster has 2 CPUs in total (largest node 2)"
    )


def test_a_cluster_without_live_nodes_holds_nothing() -> None:
    assert shortfall(_job(), []) == "train.workers = 1: the Ray cluster has no live node"


@pytest.mark.parametrize(("value", "expected"), [("1", True), ("0", False)])
def test_autoscaling_can_be_declared(monkeypatch: pytest.MonkeyPatch, value: str, expected: bool) -> None:
    monkeypatch.setenv(AUTOSCALING_ENV, value)
    assert autoscales() is expected
