"""The image metrics: the platform's feature-space metrics, plus the metric model's own accuracy.

FID, KID, IS, precision/recall and their real floors are computed once for every modality in
platform/metrics; images supply the feature extractor (features.py, or a user's Inception file).
"""

from __future__ import annotations

from ganforge.modalities.image.config import ImageData
from ganforge.platform.metrics import FEATURE_METRICS
from ganforge.platform.modality import MetricSpec

METRICS = (
    *FEATURE_METRICS,
    MetricSpec("classifier_accuracy", True, "held-out accuracy of the metric model (the feature classifier)"),
)


def metric_specs(data_cfg: ImageData) -> tuple[MetricSpec, ...]:
    """With a user's Inception file there is no classifier of ours, so no accuracy to report."""
    if data_cfg.eval.inception is None:
        return METRICS
    return tuple(spec for spec in METRICS if spec.name != "classifier_accuracy")


__all__ = ["METRICS", "metric_specs"]
