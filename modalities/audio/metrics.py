"""The audio metrics (WaveGAN paper, section 5; DiffWave Table 2): the platform's feature-space
metrics in the embedding of a classifier trained on the real clips, and that classifier's accuracy.

The headline is `is_ratio`, the classifier inception score of generated clips over that of real
ones (WaveGAN on SC09: 0.53).
"""

from __future__ import annotations

from ganforge.platform.metrics import FEATURE_METRICS
from ganforge.platform.modality import MetricSpec

METRICS = (
    *FEATURE_METRICS,
    MetricSpec("classifier_accuracy", True, "held-out accuracy of the metric model (the digit classifier)"),
)
