"""Logging the EMA generator as an MLflow model and registering it as one new version."""

from __future__ import annotations

import importlib.metadata
import io
import warnings
from contextlib import redirect_stderr, suppress
from dataclasses import dataclass
from typing import Any

import mlflow
import numpy as np
import torch
from mlflow.exceptions import MlflowException
from mlflow.models import ModelSignature
from mlflow.tracking import MlflowClient
from mlflow.types import Schema, TensorSpec

from ganforge.platform.storage import retry
from ganforge.platform.tracking.stream import TrackingTarget

METADATA_KEY = "ganforge"


@dataclass(frozen=True)
class RegisteredGenerator:
    model_uri: str
    model_name: str | None
    version: str | None


@dataclass(frozen=True)
class GeneratorCard:
    """What travels inside the logged model, so generation needs nothing else.

    job: the resolved job config (modality, data and model settings).
    samples: the prepared data's `info` (vocabulary, scaling, sample rate).
    lineage: config hash, data fingerprint, git commit, modality.
    """

    job: dict[str, Any]
    samples: dict[str, Any]
    lineage: dict[str, str]

    def metadata(self) -> dict[str, Any]:
        return {METADATA_KEY: {"job": self.job, "samples": self.samples, "lineage": self.lineage}}


def log_generator(
    target: TrackingTarget,
    generator: torch.nn.Module,
    example_latents: torch.Tensor,
    card: GeneratorCard,
    model_name: str | None,
    metrics: dict[str, float],
    description: str,
) -> RegisteredGenerator:
    """Logs `generator` in pt2 with an input example (MLflow 3) and registers one version.

    The version is created in one call with its tags and description, after the model's files
    are uploaded, so an interrupted run leaves either no version or a complete one.
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
        info = retry(
            lambda: mlflow.pytorch.log_model(
                generator,
                name="generator",
                input_example=example_latents.cpu().numpy(),
                signature=_signature(generator, example_latents),
                metadata=card.metadata(),
                pip_requirements=generator_requirements(),
            ),
            "log the generator",
        )
    if model_name is None:
        return RegisteredGenerator(info.model_uri, None, None)
    tags = {
        **card.lineage,
        **{f"metric.{k}": repr(float(v)) for k, v in metrics.items()},
        "run_id": target.run_id,
    }
    version = _create_version(
        MlflowClient(tracking_uri=target.uri), model_name, info, target.run_id, tags, description
    )
    return RegisteredGenerator(f"models:/{model_name}/{version}", model_name, version)


def generator_requirements() -> list[str]:
    """The pinned packages a logged generator loads with: the installed versions, stated.

    MLflow would infer them by importing the model in a subprocess (about 8 s of every
    registration on a small CPU) and guess at extras (pandas, tqdm). The pickled generator needs
    torch, MLflow's cloudpickle and numpy, plus ganforge itself for its module classes; ganforge is
    left out as MLflow's inference leaves it out, since pip cannot fetch it from PyPI.
    """
    packages = ("mlflow", "torch", "cloudpickle", "numpy")
    return [f"{name}=={importlib.metadata.version(name)}" for name in packages]


def _signature(generator: torch.nn.Module, latents: torch.Tensor) -> ModelSignature:
    """pt2 needs a tensor signature; MLflow infers one only for single-tensor outputs, and a
    conditional generator returns (samples, labels). Batch dimensions are left free (-1)."""

    def spec(tensor: torch.Tensor) -> TensorSpec:
        return TensorSpec(np.dtype(str(tensor.dtype).removeprefix("torch.")), (-1, *tensor.shape[1:]))

    with torch.no_grad():
        output = generator(latents.cpu())
    outputs = Schema([spec(output)]) if isinstance(output, torch.Tensor) else None
    return ModelSignature(inputs=Schema([spec(latents.cpu())]), outputs=outputs)


def _create_version(
    client: MlflowClient,
    name: str,
    info: Any,
    run_id: str,
    tags: dict[str, str],
    description: str,
) -> str:
    try:
        client.create_registered_model(name, description="GAN generators trained by ganforge.")
    except MlflowException as error:
        if error.error_code != "RESOURCE_ALREADY_EXISTS":
            raise
    version = client.create_model_version(
        name,
        source=info.model_uri,
        run_id=run_id,
        tags=tags,
        description=description,
        model_id=info.model_id,
    )
    return str(version.version)


def delete_version(uri: str, name: str, version: str) -> None:
    """Removes a version whose run did not finish (best effort: the run is FAILED either way)."""
    with suppress(MlflowException):
        MlflowClient(tracking_uri=uri).delete_model_version(name, version)
