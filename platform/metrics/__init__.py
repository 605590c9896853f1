"""One home for feature-space metrics and the learned metric models they are computed with."""

from ganforge.platform.metrics.feature_space import (
    FEATURE_METRICS,
    FeatureExtractor,
    feature_metrics,
    real_halves,
)
from ganforge.platform.metrics.metric_model import (
    MetricModel,
    MetricModelRecipe,
    TrainedMetricModel,
)
from ganforge.platform.metrics.store import resolve_metric_model

__all__ = [
    "FEATURE_METRICS",
    "FeatureExtractor",
    "MetricModel",
    "MetricModelRecipe",
    "TrainedMetricModel",
    "feature_metrics",
    "real_halves",
    "resolve_metric_model",
]
