"""Logging the EMA generator as an MLflow model and registering it."""

from __future__ import annotations

import io
import warnings
from contextlib import redirect_stderr
from dataclasses import dataclass

import mlflow
import torch
from mlflow.tracking import MlflowClient

from ganforge.platform.tracking.stream import TrackingTarget


@dataclass(frozen=True)
class RegisteredGenerator:
    model_uri: str
    model_name: str | None
    version: str | None


def log_generator(
    target: TrackingTarget,
    generator: torch.nn.Module,
    example_latents: torch.Tensor,
    model_name: str | None,
    metrics: dict[str, float],
    tags: dict[str, str],
) -> RegisteredGenerator:
    """Logs `generator` (with an input example, as MLflow 3 asks) and registers a version.

    `model_name=None` logs without registering.
    """
    mlflow.set_tracking_uri(target.uri)
    generator = generator.cpu().eval()
    # MLflow prints registry chatter and torch.export warns about read-only buffers; the CLI
    # prints its own summary of what was registered.
    with (
        mlflow.start_run(run_id=target.run_id),
        redirect_stderr(io.StringIO()),
        warnings.catch_warnings(),
    ):
        warnings.simplefilter("ignore")
        info = mlflow.pytorch.log_model(
            generator,
            name="generator",
            input_example=example_latents.cpu().numpy(),
            registered_model_name=model_name,
            metadata={"ganforge": tags},
        )
    version = None
    if model_name is not None:
        version = str(info.registered_model_version)
        client = MlflowClient(tracking_uri=target.uri)
        for key, value in {**tags, **{f"metric.{k}": str(v) for k, v in metrics.items()}}.items():
            client.set_model_version_tag(model_name, version, key, value)
        client.set_model_version_tag(model_name, version, "run_id", target.run_id)
    return RegisteredGenerator(info.model_uri, model_name, version)
