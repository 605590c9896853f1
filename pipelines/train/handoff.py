"""Hand-off states (platform/gan/handoff.py): stored with a finished run, fetched for a job that
starts from the registered generator."""

from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path

import mlflow
import torch
from mlflow.exceptions import MlflowException
from mlflow.tracking import MlflowClient

from ganforge.platform.config.schema import JobConfig
from ganforge.platform.errors import ConfigError, GanforgeError
from ganforge.platform.gan.handoff import HANDOFF_ARTIFACT, handoff_file, handoff_state
from ganforge.platform.modality import get_modality
from ganforge.platform.runners.checkpoint import load_state
from ganforge.platform.storage import retry
from ganforge.platform.tracking.registry import resolve_version
from ganforge.platform.tracking.stream import TrackingTarget


def log_handoff(job: JobConfig, target: TrackingTarget, checkpoint_dir: Path) -> None:
    """Stores the final checkpoint's hand-off state as a run artifact, if the objective carries any."""
    objective = get_modality(job.modality).objective(job.model)
    state = handoff_state(objective, load_state(checkpoint_dir))
    if state is None:
        return
    folder = Path(tempfile.mkdtemp(prefix="ganforge-handoff-"))
    try:
        file = folder / Path(HANDOFF_ARTIFACT).name
        torch.save(state, file)
        client = MlflowClient(tracking_uri=target.uri)
        artifact_dir = str(Path(HANDOFF_ARTIFACT).parent)
        retry(lambda: client.log_artifact(target.run_id, str(file), artifact_dir), "log the hand-off state")
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def registered_start(job: JobConfig) -> str | None:
    """The registered model the job's generator starts from (tokens: model.init_generator), if any."""
    source = getattr(job.model, "init_generator", None)
    return source if isinstance(source, str) and source.startswith("models:/") else None


def fetch_handoff(job: JobConfig, tracking_uri: str) -> None:
    """Downloads the hand-off state of the job's registered start into this home's cache (every
    job start: an alias may have moved), where the workers read it.

    Raises:
        ConfigError: unknown model, or a version whose run stored no hand-off state.
    """
    uri = registered_start(job)
    if uri is None:
        return
    where = f"model.init_generator = {uri!r}"
    try:
        version = resolve_version(MlflowClient(tracking_uri=tracking_uri), uri)
    except GanforgeError as error:
        raise ConfigError(f"{where}: {error}") from None
    assert version is not None  # the config validator accepts registry URIs only
    target = handoff_file(uri)
    target.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="ganforge-handoff-", dir=target.parent) as folder:
        try:
            file = mlflow.artifacts.download_artifacts(
                run_id=version.run_id,
                artifact_path=HANDOFF_ARTIFACT,
                dst_path=folder,
                tracking_uri=tracking_uri,
            )
        except (MlflowException, OSError) as error:
            first = (str(error).strip().splitlines() or [type(error).__name__])[0][:120]
            raise ConfigError(
                f"{where}: its run {version.run_id} stored no hand-off state ({HANDOFF_ARTIFACT}: {first}); "
                "start from its checkpoint folder instead"
            ) from None
        os.replace(file, target)  # atomic: a worker never reads half a file
