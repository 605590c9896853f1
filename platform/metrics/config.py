"""The `data.eval` section every modality with feature-space metrics shares."""

from __future__ import annotations

from typing import Annotated

from pydantic import Field, field_validator

from ganforge.platform.config.schema import StrictModel


class FeatureEval(StrictModel):
    """How the feature-space metrics are computed, and with which metric model."""

    samples: Annotated[int, Field(ge=16, le=100_000)] = 2000
    """Generated samples per evaluation; each real half is as large (or half the data if smaller)."""
    knn: Annotated[int, Field(ge=1, le=50)] = 3
    """k of the k-NN manifolds of improved precision/recall (Kynkaanniemi et al. use 3)."""
    metric_model: str | None = None
    """A stored metric model to score with (`models:/m-<id>`, `models:/NAME/V`, `models:/NAME@ALIAS`).
    Unset: the one stored for this data and metric version, trained and stored on first use. A
    run records the one it used here, so `ganforge evaluate` rescores with the same ruler."""
    metric_seed: Annotated[int, Field(ge=0)] = 0
    """Seed of the metric model's training (weights, data order, augmentations)."""

    @field_validator("metric_model")
    @classmethod
    def _model_uri(cls, uri: str | None) -> str | None:
        if uri is not None and not uri.startswith("models:/"):
            raise ValueError("expected a models:/ URI (models:/m-<id>, models:/NAME/V or models:/NAME@ALIAS)")
        return uri
