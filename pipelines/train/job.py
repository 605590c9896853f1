"""`ganforge train`: one job from config to registered model version."""

from __future__ import annotations

import shutil
import tempfile
import time
from collections.abc import Callable, Mapping
from contextlib import nullcontext
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import torch
from mlflow.tracking import MlflowClient

from ganforge.pipelines.train.handoff import fetch_handoff, log_handoff, registered_start
from ganforge.platform.cluster.connect import connect
from ganforge.platform.cluster.resources import ResourceRequest, require_resources
from ganforge.platform.config.schema import JobConfig
from ganforge.platform.errors import ConfigError, DataError, GanforgeError, TrainingError
from ganforge.platform.gan.batch import map_batch
from ganforge.platform.metrics.jobs import job_metric_model, pin_metric_model
from ganforge.platform.modality import Prepared, get_modality
from ganforge.platform.runners.checkpoint import evaluated_generator, load_state
from ganforge.platform.runners.interrupt import SigintWatch
from ganforge.platform.runners.local import run_local
from ganforge.platform.runners.loop import SAMPLE_COUNT, reference_reals
from ganforge.platform.settings import JobSettings
from ganforge.platform.storage import retry
from ganforge.platform.tracking.model import (
    GeneratorCard,
    RegisteredGenerator,
    delete_version,
    log_generator,
)
from ganforge.platform.tracking.run import config_hash, finish_run, ganforge_version, git_commit, start_run
from ganforge.platform.tracking.store import check_reachable, tracking_uri
from ganforge.platform.tracking.stream import TrackingTarget
from ganforge.platform.tracking.version_card import VersionCard, log_card_image

ProgressFn = Callable[[int, dict[str, float]], None]


@dataclass(frozen=True)
class TrainOutcome:
    """What a finished job leaves behind (the `--json` line)."""

    run_id: str | None
    metrics: dict[str, float]
    model_name: str | None
    model_version: str | None
    model_uri: str | None
    tracking_uri: str | None
    checkpoint: str

    def to_dict(self) -> dict:
        return asdict(self)


def inspect_data(job: JobConfig) -> Prepared:
    """Prepares the data once on the driver: a missing or corrupt file fails here, before training."""
    modality = get_modality(job.modality)
    try:
        data = modality.prepare(job.data)
    except (OSError, ValueError) as error:
        if isinstance(error, GanforgeError):
            raise
        raise DataError(f"{job.modality} data: {error}") from None
    if len(data.dataset) == 0:  # type: ignore[arg-type]
        raise DataError(f"{job.modality} data: the dataset is empty")
    return data


def pin_job_metric_model(job: JobConfig, data: Prepared) -> tuple[JobConfig, dict[str, str]]:
    """Resolves the job's metric model once, here on the driver (trained and stored on first
    use), and pins it into the job so every worker and node loads that one copy.

    Returns the pinned job and the metric-model tags for its run (empty if it needs none).
    """
    uri = tracking_uri(job.tracking) if job.tracking.enabled else None
    model = job_metric_model(job, data, uri)
    return pin_metric_model(job, model), model.tags() if model else {}


def _run(
    job: JobConfig,
    settings: JobSettings,
    target: TrackingTarget | None,
    address: str | None,
    on_progress: ProgressFn | None,
) -> tuple[dict[str, float], Callable[[], object], str]:
    """Runs the chosen runner: final metrics, an opener of the final checkpoint, its location."""
    name = f"{job.name}-{target.run_id[:8] if target else time.strftime('%Y%m%d-%H%M%S')}"
    if job.train.runner == "local" and job.train.workers == 1:
        root = settings.home / "checkpoints" / name
        metrics, final = run_local(job, root, target, on_progress)
        return metrics, lambda: nullcontext(str(final)), str(final)
    from ganforge.platform.runners.ray_train import run_ray_train  # Ray only when it is used

    connect(address, settings=settings)
    storage = job.train.storage_path or str(settings.home / "ray")
    worker_env = settings.env_vars(address)
    metrics, checkpoint = run_ray_train(job, storage, name, target, on_progress, worker_env=worker_env)
    return metrics, checkpoint.as_directory, checkpoint.path


def log_and_register(
    job: JobConfig,
    target: TrackingTarget,
    checkpoint_dir: Path,
    metrics: dict[str, float],
    data: Prepared,
    metric_tags: dict[str, str],
) -> RegisteredGenerator:
    modality = get_modality(job.modality)
    example = modality.sample_latents(job.model, data.info, 4, torch.Generator().manual_seed(0))
    lineage = {
        "modality": job.modality,
        "config_hash": config_hash(job),
        "data_fingerprint": data.fingerprint,
        "git_commit": git_commit(),
        "ganforge_version": ganforge_version(),
        **metric_tags,
    }
    card = GeneratorCard(job=job.to_dict(), samples=data.info, lineage=lineage)
    log_handoff(job, target, checkpoint_dir)  # before the version exists: it comes complete or not at all
    generator = evaluated_generator(job, data, load_state(checkpoint_dir))
    description = version_card(job, target, generator, data, metrics, metric_tags).markdown()
    return log_generator(
        target,
        generator,
        example,
        card,
        job.model_name if job.tracking.register_model else None,
        metrics,
        description,
    )


def version_card(
    job: JobConfig,
    target: TrackingTarget,
    generator: torch.nn.Module,
    data: Prepared,
    metrics: dict[str, float],
    metric_tags: dict[str, str],
) -> VersionCard:
    """The registered version's description: the final generator's samples, drawn from the run's
    fixed latents and reals (the picture of its last step), and what a person choosing needs."""
    modality = get_modality(job.modality)
    latents = modality.output_latents(
        job.model, data.info, SAMPLE_COUNT, torch.Generator().manual_seed(job.train.seed)
    )
    out_dir = Path(tempfile.mkdtemp(prefix="ganforge-card-"))
    try:
        with torch.no_grad():
            fakes = map_batch(lambda t: t.detach().cpu(), generator.eval()(latents))
        reals = reference_reals(data.dataset, SAMPLE_COUNT)
        samples = modality.write_samples(fakes, reals, out_dir, data.info)
        image = log_card_image(target, samples)
    finally:
        shutil.rmtree(out_dir, ignore_errors=True)
    table = next(iter(samples.tables.values()), {})
    client = MlflowClient(tracking_uri=target.uri)
    run = retry(lambda: client.get_run(target.run_id), "read run")
    which = "EMA generator" if job.gan.ema.enabled else "Generator"
    data_cfg = job.data
    source = getattr(data_cfg, "dataset", job.modality)
    path = getattr(data_cfg, "path", None)
    return VersionCard(
        headline=f"{which} of job **{job.name}** ({job.modality}) after {job.train.steps} steps.",
        run_id=target.run_id,
        experiment_id=run.info.experiment_id,
        data=f"`{source}`" + (f" from `{path}`" if path else ""),
        fingerprint=data.fingerprint,
        objective=_objective_line(job),
        metrics=metrics,
        specs=modality.metric_specs(job.data),
        metric_model=metric_tags,
        lineage={
            "config": job.name,
            "hash": config_hash(job),
            "seed": str(job.train.seed),
            "commit": git_commit(),
        },
        image=image,
        text_samples=list(zip(table.get("generated", []), table.get("real", []), strict=False)),
    )


def _objective_line(job: JobConfig) -> str:
    """The step family and the options that change what the model learned (those it honours)."""
    gan, objective = job.gan, get_modality(job.modality).objective(job.model)
    honoured = objective.honours()
    options = {
        "loss": f"loss `{gan.loss}`",
        "n_critic": f"{gan.n_critic} D steps per G step" if gan.n_critic > 1 else "",
        "gradient_penalty": f"gradient penalty {gan.gradient_penalty:g}" if gan.gradient_penalty else "",
        "r1_gamma": f"R1 {gan.r1_gamma:g}" if gan.r1_gamma else "",
        "spectral_norm": "spectral norm" if gan.spectral_norm else "",
        "ada": "adaptive augmentation" if gan.ada.enabled else "",
        "ema": f"EMA {gan.ema.decay:g}" if gan.ema.enabled else "",
    }
    return ", ".join([objective.name, *(text for key, text in options.items() if text and key in honoured)])


def _train(
    job: JobConfig,
    settings: JobSettings,
    address: str | None,
    on_progress: ProgressFn | None,
    changes: Mapping[str, Any],
) -> TrainOutcome:
    if job.tracking.enabled:  # first: an unreachable server is reported within seconds
        check_reachable(tracking_uri(job.tracking, create=False))
    if registered_start(job) is not None:  # only then: resolving a local store creates it
        fetch_handoff(job, tracking_uri(job.tracking))  # its weights and optimizer states
    data = inspect_data(job)
    if job.train.runner == "ray" or job.train.workers > 1:
        # Before any MLflow run (and before a metric model is trained): a job the cluster can never
        # hold is refused within seconds and leaves nothing behind, where Ray would wait forever.
        try:
            connect(address, settings=settings)
        except ValueError as error:  # e.g. an HTTP address: Ray explains over several lines
            raise ConfigError(f"{str(error).split('. ')[0]} (give HOST:6379 or ray://HOST:10001)") from None
        except Exception as error:
            what = f"Ray cluster at {address} is unreachable" if address else "the local Ray could not start"
            raise TrainingError(f"{what} ({type(error).__name__}: {error})") from error
        require_resources(ResourceRequest.for_job(job))
    job, metric_tags = pin_job_metric_model(job, data)
    target = None
    registered = None
    if job.tracking.enabled:
        target = start_run(job, data.fingerprint, job.train.runner, metric_tags, changes)
    ctrl_c = SigintWatch()
    try:
        with ctrl_c:
            metrics, open_checkpoint, checkpoint = _run(job, settings, target, address, on_progress)
        if ctrl_c.seen:  # taken by Ray Train's handler after the run had ended
            raise KeyboardInterrupt
        metrics = {k: float(v) for k, v in metrics.items() if isinstance(v, int | float)}
        if target is not None:
            with open_checkpoint() as directory:
                registered = log_and_register(job, target, Path(directory), metrics, data, metric_tags)
            finish_run(target, ok=True)
    except BaseException as error:
        if ctrl_c.seen and not isinstance(error, KeyboardInterrupt):
            # Ray Train's handler took the Ctrl-C and ended the run with SystemExit (or the workers,
            # in the terminal's process group, died of it): the user's interrupt, not a failure.
            error = KeyboardInterrupt()
        if target is not None:
            if registered is not None and registered.version is not None:
                delete_version(target.uri, job.model_name, registered.version)
            finish_run(target, ok=False, reason=f"{type(error).__name__}: {error}")
        if isinstance(error, GanforgeError | KeyboardInterrupt):
            raise error
        raise TrainingError(f"training failed: {type(error).__name__}: {error}") from error
    return TrainOutcome(
        run_id=target.run_id if target else None,
        metrics=metrics,
        model_name=registered.model_name if registered else None,
        model_version=registered.version if registered else None,
        model_uri=registered.model_uri if registered else None,
        tracking_uri=target.uri if target else None,
        checkpoint=checkpoint,
    )


def train(
    job: JobConfig,
    address: str | None = None,
    on_progress: ProgressFn | None = None,
    settings: JobSettings | None = None,
    changes: Mapping[str, Any] | None = None,
) -> TrainOutcome:
    """Trains `job`, then logs and registers its EMA generator. Failed runs register nothing.

    Args:
        changes: what was set on top of the config file (`--set KEY=VALUE`, `--workers`): they
            name the MLflow run and are tagged on it (`ganforge.set.KEY`).
        settings: the job's home folder, tracking and S3 settings, for this process and its Ray
            workers; default: resolved once, here, from the job's tracking section and the
            environment. None of them is left in os.environ afterwards (no leak into a next job).

    Raises:
        GanforgeError: bad data, unreachable tracking or Ray, resources the Ray cluster can never
            provide (ConfigError), or a failed/diverged training run.
        KeyboardInterrupt: Ctrl-C, with either runner (the run is marked FAILED).
    """
    settings = settings or JobSettings.resolve(job.tracking)
    with settings.applied():
        return _train(job, settings, address, on_progress, changes or {})
