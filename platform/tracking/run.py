"""The driver's side of a tracked run: open it with params and tags, close it with a status."""

from __future__ import annotations

import hashlib
import json
import subprocess
from collections.abc import Mapping
from importlib import metadata
from pathlib import Path
from typing import Any

from mlflow.entities import Param, RunStatus, RunTag
from mlflow.tracking import MlflowClient

from ganforge.platform.config.loading import flatten_values
from ganforge.platform.config.schema import JobConfig
from ganforge.platform.modality.registry import get_modality
from ganforge.platform.runners.best import BEST_METRIC_TAG_PREFIX, BEST_STEP_TAG
from ganforge.platform.tracking.runs_view import RunsView, safely, update_view
from ganforge.platform.tracking.store import ensure_experiment, tracking_uri
from ganforge.platform.tracking.stream import TrackingTarget

MAX_PARAM_LENGTH = 6000


def flatten(tree: dict[str, Any]) -> dict[str, str]:
    """{'gan': {'g_opt': {'lr': 1e-4}}} -> {'gan.g_opt.lr': '0.0001'} (MLflow params are strings)."""
    return {
        key: json.dumps(value) if isinstance(value, list | tuple) else str(value)
        for key, value in flatten_values(tree).items()
    }


def config_hash(job: JobConfig) -> str:
    """Hash of the resolved config, independent of key order."""
    text = json.dumps(job.to_dict(), sort_keys=True)
    return hashlib.sha256(text.encode()).hexdigest()[:16]


RUN_NAME_CHARS = 250  # what the MLflow UI shows of a name without truncating the column
CHANGED_TAG = "ganforge.set."
"""Prefix of the tags holding what a run changed from its config file (`--set`, trial values)."""


def run_name(job: JobConfig, changes: Mapping[str, Any]) -> str:
    """What tells a run from its siblings in the runs list: the config's name, the seed, what was
    changed from the config file (`--set` overrides, a trial's sampled values) and a short hash of
    the resolved config, e.g. `toy-ring8 seed=2 gan.loss=hinge #3f9a1c`."""
    changed = [f"{key}={_short(value)}" for key, value in changes.items() if key != "train.seed"]
    name = " ".join([job.name, f"seed={job.train.seed}", *changed, f"#{config_hash(job)[:6]}"])
    return name if len(name) <= RUN_NAME_CHARS else name[: RUN_NAME_CHARS - 1] + "…"


def changed_tags(changes: Mapping[str, Any]) -> dict[str, str]:
    """One tag per changed key (`ganforge.set.gan.loss`): columns a user can add to the runs list."""
    return {f"{CHANGED_TAG}{key}": _short(value) for key, value in changes.items()}


def runs_view(job: JobConfig, changes: Mapping[str, Any]) -> RunsView:
    """The experiment's saved view as this job sees it: its ranking metric (best first) and its
    modality's other metrics, the best step and what this run changed as columns."""
    modality = get_modality(job.modality)
    ranking = modality.ranking_spec(job.data, job.train.best_metric)
    others = tuple(spec.name for spec in modality.metric_specs(job.data) if spec.name != ranking.name)
    best = (BEST_STEP_TAG, f"{BEST_METRIC_TAG_PREFIX}{ranking.name}")
    return RunsView(ranking.name, ranking.higher_is_better, others, (*best, *changed_tags(changes)))


def _short(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:.4g}"
    if isinstance(value, list | tuple):
        return json.dumps(value)
    return str(value)


# Written into wheels that `ganforge submit` builds (platform/cluster/wheel.py): the commit of the
# checkout they were built from. A source checkout has none and asks git instead.
BUILD_INFO = Path(__file__).resolve().parents[1] / "build_info.json"
BUILD_INFO_NAME = "ganforge/platform/build_info.json"  # its path inside a wheel
UNKNOWN = "unknown"


def _git(folder: Path, *args: str) -> str | None:
    """`git -C folder ARGS`'s output, or None when git is missing or fails (not a work tree...)."""
    try:
        done = subprocess.run(
            ["git", "-C", str(folder), *args], capture_output=True, text=True, timeout=5, check=True
        )
    except (OSError, subprocess.SubprocessError):
        return None
    return done.stdout.strip()


def _head(folder: Path) -> tuple[str, bool] | None:
    """(HEAD commit, has uncommitted changes to tracked files) of the work tree holding `folder`."""
    commit = _git(folder, "rev-parse", "--verify", "HEAD")
    dirty = _git(folder, "status", "--porcelain", "--untracked-files=no")
    if not commit or dirty is None:
        return None  # outside git, or a repository without a commit yet
    return commit, bool(dirty)


def _named(state: tuple[str, bool]) -> str:
    return f"{state[0]}-dirty" if state[1] else state[0]


def _source_root() -> Path | None:
    """The top of the git checkout this module was imported from, if it is one.

    An installed copy that merely sits inside someone's repository (a venv in a project) is not
    tracked there: only a work tree that tracks this very file is ganforge's source."""
    here = Path(__file__).resolve()
    if _git(here.parent, "ls-files", "--error-unmatch", "--", here.name) is None:
        return None
    top = _git(here.parent, "rev-parse", "--show-toplevel")
    return Path(top).resolve() if top else None


def _source_state() -> tuple[str, bool] | None:
    """The commit of ganforge's own checkout, asked of git in its folder (not the working directory)."""
    root = _source_root()
    return _head(root) if root else None


def read_build_info() -> dict[str, Any] | None:
    """The build-info file shipped in a submitted wheel, or None (a checkout, or a damaged file)."""
    try:
        info = json.loads(BUILD_INFO.read_text())
    except (OSError, ValueError):
        return None
    return info if isinstance(info, dict) and isinstance(info.get("commit"), str) else None


def code_commit() -> str:
    """The commit of the ganforge code that runs (`<sha>` or `<sha>-dirty`), wherever it runs from.

    A wheel built by `ganforge submit` carries it in its build-info file; a source checkout is asked
    with git in its own folder, never the working directory. `unknown` for any other install."""
    info = read_build_info()
    if info is not None:
        return _named((info["commit"], bool(info.get("dirty"))))
    state = _source_state()
    return _named(state) if state else UNKNOWN


git_commit = code_commit  # the old name, kept for callers (lineage in pipelines/train/job.py)


def ganforge_version() -> str:
    """The installed ganforge's version (as its metadata says; the build-info file's otherwise)."""
    try:
        return metadata.version("ganforge")
    except metadata.PackageNotFoundError:
        info = read_build_info() or {}
        return str(info.get("version", UNKNOWN))


def build_info() -> dict[str, Any]:
    """What a wheel built now from this checkout records about itself (see `BUILD_INFO`)."""
    state = _source_state()
    commit, dirty = state if state else (UNKNOWN, False)
    return {"version": ganforge_version(), "commit": commit, "dirty": dirty}


def user_commit() -> str | None:
    """The commit of the user's own repository (the working directory's), if it is one.

    None outside a git work tree, before its first commit, and in ganforge's own checkout (whose
    commit is `code_commit`)."""
    cwd = Path.cwd()
    top = _git(cwd, "rev-parse", "--show-toplevel")
    if not top:
        return None
    if Path(top).resolve() == _source_root():
        return None
    state = _head(cwd)
    return _named(state) if state else None


def provenance_tags() -> dict[str, str]:
    """Run tags naming the code that ran: its commit, its version, and the user's repository commit."""
    tags = {"ganforge.git_commit": code_commit(), "ganforge.version": ganforge_version()}
    user = user_commit()
    if user:
        tags["ganforge.user_commit"] = user
    return tags


def start_run(
    job: JobConfig,
    fingerprint: str,
    runner: str,
    tags: dict[str, str] | None = None,
    changes: Mapping[str, Any] | None = None,
) -> TrackingTarget:
    """Creates the MLflow run with flattened params, lineage (and `tags`) and the resolved config;
    `changes` (what was set on top of the config file) name the run and become tags."""
    uri = tracking_uri(job.tracking)
    client = MlflowClient(tracking_uri=uri)
    experiment_id = ensure_experiment(client, uri, job.tracking)
    changes = changes or {}
    safely(
        "update the experiment's saved view",
        lambda: update_view(client, experiment_id, runs_view(job, changes)),
    )
    tags = {
        "mlflow.runName": run_name(job, changes),
        **changed_tags(changes),
        "ganforge.modality": job.modality,
        "ganforge.config_hash": config_hash(job),
        **provenance_tags(),
        "ganforge.data_fingerprint": fingerprint,
        "ganforge.runner": runner,
        **(tags or {}),
    }
    run = client.create_run(experiment_id, tags=tags)
    params = [Param(key, value[:MAX_PARAM_LENGTH]) for key, value in flatten(job.to_dict()).items()]
    client.log_batch(run.info.run_id, params=params, tags=[RunTag("ganforge.status", "running")])
    client.log_dict(run.info.run_id, job.to_dict(), "config.yaml")
    return TrackingTarget(uri=uri, run_id=run.info.run_id)


def finish_run(target: TrackingTarget, ok: bool, reason: str = "") -> None:
    """Marks the run FINISHED or FAILED (with the reason as a tag)."""
    client = MlflowClient(tracking_uri=target.uri)
    if reason:
        client.set_tag(target.run_id, "ganforge.failure", reason[:5000])
    client.set_tag(target.run_id, "ganforge.status", "finished" if ok else "failed")
    status = RunStatus.to_string(RunStatus.FINISHED if ok else RunStatus.FAILED)
    client.set_terminated(target.run_id, status=status)
