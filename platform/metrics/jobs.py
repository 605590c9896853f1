"""A job's metric model: resolved once by the driver, pinned into the job for every worker."""

from __future__ import annotations

from ganforge.platform.config.loading import apply_overrides, load_job_dict
from ganforge.platform.config.schema import JobConfig
from ganforge.platform.metrics.metric_model import MetricModel
from ganforge.platform.metrics.store import PIN_KEY, resolve_metric_model
from ganforge.platform.modality import Prepared, get_modality
from ganforge.platform.tracking.store import tracking_uri as store_uri


def pinned_uri(job: JobConfig) -> str | None:
    """The job's `data.eval.metric_model`, when its modality has that setting and it is set."""
    return getattr(getattr(job.data, "eval", None), "metric_model", None)


def job_metric_model(job: JobConfig, data: Prepared, tracking_uri: str | None) -> MetricModel | None:
    """The metric model `job`'s metrics are computed with (None: its modality needs none).

    `tracking_uri=None` (tracking off) keeps an unpinned model in the local cache only; a
    pinned one is read from the job's tracking store even then.
    """
    recipe = get_modality(job.modality).metric_model(data, job.data)
    if recipe is None:
        return None
    pinned = pinned_uri(job)
    if pinned is not None and tracking_uri is None:
        tracking_uri = store_uri(job.tracking)
    return resolve_metric_model(recipe, tracking_uri, pinned)


def pin_metric_model(job: JobConfig, model: MetricModel | None) -> JobConfig:
    """`job` with the stored metric model's URI in `data.eval.metric_model`, so that workers,
    trials and a later `ganforge evaluate` load that copy instead of resolving their own."""
    if model is None or model.uri is None or pinned_uri(job) == model.uri:
        return job
    return load_job_dict(apply_overrides(job.to_dict(), {PIN_KEY: model.uri}), source="job")
