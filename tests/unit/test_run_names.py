"""Run names say what tells a run from its siblings (issue 18): config name, seed, what was set on
top of the config file, a short config hash; the changes are also tags."""

from __future__ import annotations

from ganforge.modalities.toy import MODALITY
from ganforge.platform.config import apply_overrides, load_job_dict
from ganforge.platform.tracking.run import RUN_NAME_CHARS, changed_tags, config_hash, run_name


def _job(changes: dict):
    return load_job_dict(apply_overrides(MODALITY.tiny_config(), changes))


def test_the_name_holds_seed_changes_and_hash() -> None:
    changes = {"train.seed": 2, "gan.g_opt.lr": 0.000123456, "gan.g_opt.betas": [0.0, 0.99]}
    job = _job(changes)
    expected = f"toy-tiny seed=2 gan.g_opt.lr=0.0001235 gan.g_opt.betas=[0.0, 0.99] #{config_hash(job)[:6]}"
    assert run_name(job, changes) == expected
    assert changed_tags(changes) == {
        "ganforge.set.train.seed": "2",
        "ganforge.set.gan.g_opt.lr": "0.0001235",
        "ganforge.set.gan.g_opt.betas": "[0.0, 0.99]",
    }


def test_runs_of_one_config_differ_by_seed_and_hash_and_long_names_are_cut() -> None:
    names = {run_name(_job({"train.seed": seed}), {"train.seed": seed}) for seed in (0, 1)}
    assert len(names) == 2 and all(name.startswith("toy-tiny seed=") for name in names)
    many = {f"model.k{i}": i for i in range(100)}
    assert len(run_name(_job({}), many)) == RUN_NAME_CHARS
