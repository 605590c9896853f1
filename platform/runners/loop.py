"""The ONE training loop. Runners decide where it runs; this file decides what it does.

Read top to bottom: build -> maybe resume -> (D steps, G step, EMA) x steps, with metrics every
`log_every`, samples every `sample_every`, a checkpoint every `checkpoint_every` G steps and an
evaluation every `eval_every` (at a checkpoint: the best one so far is tagged and kept, best.py).
"""

from __future__ import annotations

import math
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
from torch.utils.data import Dataset
from torch.utils.data._utils.collate import default_collate

from ganforge.platform.config.schema import JobConfig
from ganforge.platform.errors import TrainingError
from ganforge.platform.gan import GanNets, Objective, add_spectral_norm, make_ema_copy
from ganforge.platform.gan.batch import map_batch
from ganforge.platform.gan.ema import ema_beta, has_batch_norm, recompute_batch_norm, update_ema
from ganforge.platform.gan.lr_decay import lr_factor, set_lr_factor
from ganforge.platform.gan.objective import build_optimizers, optimizer_states, restore_optimizers
from ganforge.platform.metrics.jobs import job_metric_model
from ganforge.platform.metrics.metric_model import MetricModel
from ganforge.platform.modality import MetricSpec, Modality, Prepared, SampleArtifacts, get_modality
from ganforge.platform.runners import best, checkpoint
from ganforge.platform.runners.batches import ShardSampler, derive_seed
from ganforge.platform.runners.context import WorkerContext
from ganforge.platform.tracking.stream import MetricStream, TrackingTarget

SAMPLE_COUNT = 512
BN_SAMPLES = 512  # latents whose activations set the EMA generator's BatchNorm statistics


class DivergedError(TrainingError):
    """A loss became NaN or infinite: the run is failed, not registered."""


@dataclass
class _Parts:
    modality: Modality
    data: Prepared
    nets: GanNets
    ema: torch.nn.Module
    objective: Objective
    sampler: ShardSampler
    latents: torch.Generator
    ranking: MetricSpec
    """The metric that ranks evaluations (train.best_metric, else the modality's)."""
    metric_model: Callable[[], MetricModel | None] | None = None
    """Resolves (once, on first evaluation) the metric model the chief scores with."""
    best_so_far: best.BestRecord | None = None
    """The best evaluation so far (the chief's; carried by every checkpoint)."""


def build_objective(job: JobConfig, nets: GanNets, device: torch.device) -> Objective:
    """The job's objective with the optimizers it declares, created here (the platform owns them),
    and the modality's augment ops (applied where gan.ada is on)."""
    modality = get_modality(job.modality)
    objective_type = modality.objective(job.model)
    optimizers = build_optimizers(objective_type.optimizer_specs(job, nets))
    return objective_type(job, nets, optimizers, device, modality.augment_ops(job.model))


def _build(job: JobConfig, ctx: WorkerContext) -> _Parts:
    modality = get_modality(job.modality)
    data = modality.prepare(job.data)
    torch.manual_seed(job.train.seed)  # identical initial weights on every rank
    g_module = modality.build_generator(job.model, data)
    d_module = modality.build_discriminator(job.model, data)
    if job.gan.spectral_norm:
        add_spectral_norm(d_module)
    nets = GanNets(
        generator=ctx.wrap(g_module),
        discriminator=ctx.wrap(d_module, broadcast_buffers=False),
        g_module=g_module,
        d_module=d_module,
    )
    ema = make_ema_copy(g_module)
    sampler = ShardSampler(data.dataset, ctx.rank, ctx.world_size, job.train.seed)
    latents = torch.Generator().manual_seed(derive_seed(job.train.seed, ctx.rank, 1))
    objective = build_objective(job, nets, ctx.device)
    ranking = modality.ranking_spec(job.data, job.train.best_metric)
    return _Parts(modality, data, nets, ema, objective, sampler, latents, ranking)


def _training_state(parts: _Parts, step: int) -> dict[str, Any]:
    return {
        "step": step,
        "generator": parts.nets.g_module.state_dict(),
        "discriminator": parts.nets.d_module.state_dict(),
        "generator_ema": parts.ema.state_dict(),
        "optimizers": optimizer_states(parts.objective.optimizers),
        "objective": parts.objective.state_dict(),
    }


def _rng_state(parts: _Parts) -> dict[str, Any]:
    return checkpoint.capture_rng(
        {"sampler": parts.sampler.state_dict(), "latents": parts.latents.get_state()}
    )


def _resume(parts: _Parts, directory: Path, rank: int) -> int:
    """Restores everything the checkpoint holds; returns the step to continue from."""
    state = checkpoint.load_state(directory)
    parts.nets.g_module.load_state_dict(state["generator"])
    parts.nets.d_module.load_state_dict(state["discriminator"])
    parts.ema.load_state_dict(state["generator_ema"])
    objective = parts.objective
    restore_optimizers(objective.optimizers, objective.specs, state["optimizers"])
    objective.load_state_dict(state.get("objective", {}))
    rng = checkpoint.load_rng(directory, rank)
    if rng is not None:  # None: resumed at another width; this rank's streams start afresh
        checkpoint.restore_global_rng(rng)
        parts.sampler.load_state_dict(rng["sampler"])
        parts.latents.set_state(rng["latents"])
    return int(state["step"])


def _check_finite(step: int, values: dict[str, float]) -> None:
    bad = {k: v for k, v in values.items() if not math.isfinite(v)}
    if bad:
        raise DivergedError(f"training diverged at step {step}: {bad}")


def evaluation_generator(job: JobConfig, parts: _Parts) -> torch.nn.Module:
    """Metrics and the registered model use the EMA generator when EMA is on (StyleGAN practice),
    with BatchNorm statistics measured under its own weights (see platform/gan/ema.py)."""
    if not job.gan.ema.enabled:
        return parts.nets.g_module
    if has_batch_norm(parts.ema):
        device = next(parts.ema.parameters()).device
        # Own latent stream, so recomputing (any number of times) never moves the training's.
        z = parts.modality.sample_latents(
            job.model, parts.data.info, BN_SAMPLES, torch.Generator().manual_seed(job.train.seed + 2)
        )
        recompute_batch_norm(parts.ema, (chunk.to(device) for chunk in z.split(job.train.batch_size)))
    return parts.ema


def train_loop(job: JobConfig, ctx: WorkerContext, target: TrackingTarget | None = None) -> dict[str, float]:
    """Trains `job` on this worker and returns the final metrics (chief: with evaluation)."""
    train, device = job.train, ctx.device
    parts = _build(job, ctx)
    start = 0
    resume_dir = ctx.latest_checkpoint()
    if resume_dir is not None:
        start = _resume(parts, resume_dir, ctx.rank)
        parts.best_so_far = best.read_record(resume_dir, parts.ranking.name)
    parts.ema.to(device)
    objective = parts.objective
    stream = MetricStream(target) if (ctx.is_chief and target is not None) else None
    if stream:  # a restarted attempt (from a checkpoint, or from scratch) must not log steps twice
        stream.resume()
    if ctx.is_chief:
        ctx.started(start)
    parts.metric_model = _metric_model_once(job, parts, target, stream)
    fixed_z = parts.modality.output_latents(
        job.model, parts.data.info, SAMPLE_COUNT, torch.Generator().manual_seed(train.seed)
    ).to(device)

    def latents() -> torch.Tensor:
        return parts.modality.sample_latents(job.model, parts.data.info, train.batch_size, parts.latents).to(
            device
        )

    last: dict[str, float] = {}
    tick, ticked_at = time.perf_counter(), start
    decay = job.gan.lr_decay
    try:
        for step in range(start, train.steps):
            objective.start_step(step)
            if decay.kind != "none":
                factor = lr_factor(step, decay, train.steps)
                set_lr_factor(objective.optimizers, objective.specs, factor)
            for k in range(job.gan.n_critic):
                real = map_batch(_to(device), parts.sampler.next_batch(train.batch_size))
                stats = objective.discriminator_step(real, latents(), step * job.gan.n_critic + k)
            stats.update(objective.generator_step(latents(), real))
            if decay.kind != "none":
                stats["lr_factor"] = torch.tensor(factor)
            if job.gan.ema.enabled:
                beta = ema_beta(step + 1, job.gan.ema.decay, job.gan.ema.rampup)
                update_ema(parts.ema, parts.nets.g_module, beta)
            done = step + 1
            if done % train.log_every == 0 or done == train.steps:
                # .item() only here: between log steps the step never waits on the host.
                last = {name: value.item() for name, value in stats.items()}
                _check_finite(done, last)
                now = time.perf_counter()
                last["step_time"] = (now - tick) / max(done - ticked_at, 1)
                tick, ticked_at = now, done
                if ctx.is_chief:
                    ctx.progress(done, last)
                    if stream:
                        stream.log_metrics(done, last)
            # The final step's samples are logged with its evaluation, below.
            if stream and train.sample_every and done % train.sample_every == 0 and done < train.steps:
                stream.log_samples(done, *_write_samples(job, parts, fixed_z))
            if done % train.checkpoint_every == 0 or done == train.steps:
                last = _checkpoint_and_report(job, ctx, parts, done, last, stream, fixed_z)
    except BaseException:
        if stream:  # the run is failing (or interrupted): drop queued uploads, exit promptly
            stream.close(cancel=True)
        raise
    if stream:
        stream.close()
    return last


@contextmanager
def _inference(module: torch.nn.Module) -> Iterator[torch.nn.Module]:
    """Eval mode and no grad for a moment, then the module's own mode again."""
    was_training = module.training
    module.eval()
    try:
        with torch.no_grad():
            yield module
    finally:
        module.train(was_training)


def reference_reals(dataset: Dataset, count: int) -> Any:
    """`count` real items (a fixed, seeded choice: a folder sorted by class still shows every
    class), drawn with their own generator so the sampler's random stream is untouched."""
    size = len(dataset)  # type: ignore[arg-type]
    index = torch.randperm(size, generator=torch.Generator().manual_seed(0))[: min(count, size)]
    tensors = getattr(dataset, "tensors", None)
    if tensors is not None:
        return tensors[0][index]
    return default_collate([dataset[int(i)] for i in index])


def _to(device: torch.device):  # noqa: ANN202
    return lambda t: t.to(device, non_blocking=True)


def _write_samples(job: JobConfig, parts: _Parts, fixed_z: torch.Tensor) -> tuple[SampleArtifacts, Path]:
    out_dir = Path(tempfile.mkdtemp(prefix="ganforge-samples-"))
    with _inference(evaluation_generator(job, parts)) as generator:
        fakes = map_batch(lambda t: t.float().cpu() if t.is_floating_point() else t.cpu(), generator(fixed_z))
    reals = reference_reals(parts.sampler.dataset, len(fixed_z))
    return parts.modality.write_samples(fakes, reals, out_dir, parts.data.info), out_dir


def _checkpoint_and_report(
    job: JobConfig,
    ctx: WorkerContext,
    parts: _Parts,
    step: int,
    metrics: dict[str, float],
    stream: MetricStream | None,
    fixed_z: torch.Tensor,
) -> dict[str, float]:
    """Saves the checkpoint (state first, so evaluation cannot disturb the random streams)."""
    final = step == job.train.steps
    with tempfile.TemporaryDirectory(prefix="ganforge-ckpt-") as tmp:
        directory = Path(tmp)
        if ctx.is_chief:
            evaluation_generator(job, parts)  # the checkpoint's EMA G carries its own BN statistics
        checkpoint.save(
            directory,
            ctx.rank,
            _training_state(parts, step) if ctx.is_chief else None,
            _rng_state(parts),
        )
        report = {**metrics, "step": step}
        every, improved = job.train.eval_every, None
        if ctx.is_chief and (final or (every and step % every == 0)):
            evaluation = _evaluate(job, parts, final)
            report.update(evaluation)
            if stream:
                stream.log_metrics(step, evaluation)
            improved = best.improved(parts.best_so_far, parts.ranking, evaluation, step)
            parts.best_so_far = improved or parts.best_so_far
        if ctx.is_chief and parts.best_so_far is not None:
            best.write_record(directory, parts.best_so_far)  # a resumed run goes on comparing against it
        if improved is not None:
            _keep_best(job, ctx, improved, directory, stream)
        if final and ctx.is_chief and stream:
            stream.log_samples(step, *_write_samples(job, parts, fixed_z))
        ctx.report(report, directory)
    return report


def _keep_best(
    job: JobConfig, ctx: WorkerContext, record: best.BestRecord, directory: Path, stream: MetricStream | None
) -> None:
    """Chief, at an evaluation that beat the best so far: keeps its checkpoint out of pruning
    (train.keep_best, where the runner has a `best_dir`) and tags the run with its step."""
    tags = record.tags()
    if job.train.keep_best and ctx.best_dir is not None:
        best.publish(directory, ctx.best_dir, job.tracking.s3_endpoint_url)
        tags[best.BEST_CHECKPOINT_TAG] = ctx.best_dir
    if stream:
        stream.set_tags(tags)


def _metric_model_once(
    job: JobConfig, parts: _Parts, target: TrackingTarget | None, stream: MetricStream | None
) -> Callable[[], MetricModel | None]:
    """The metric model, resolved at the first evaluation only (most steps never evaluate); the
    run is tagged with it, so `select` can tell which ruler its metrics were read with."""
    resolved: list[MetricModel | None] = []

    def metric_model() -> MetricModel | None:
        if not resolved:
            resolved.append(job_metric_model(job, parts.data, target.uri if target else None))
            if stream and resolved[0] is not None:
                stream.set_tags(resolved[0].tags())
        return resolved[0]

    return metric_model


def _evaluate(job: JobConfig, parts: _Parts, final: bool = True) -> dict[str, float]:
    """The modality's metrics: all of them at the end, its cheap ones (`evaluate_periodic`) before."""
    scorer = parts.metric_model() if parts.metric_model else None
    evaluate = parts.modality.evaluate if final else parts.modality.evaluate_periodic
    with _inference(evaluation_generator(job, parts)) as generator:
        values = evaluate(generator, parts.data, job.model, job.data, job.train.seed, scorer)
    return {name: float(value) for name, value in values.items()}
