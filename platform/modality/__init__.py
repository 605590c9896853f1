"""The modality contract and the one registry every modality goes through."""

from ganforge.platform.modality.contract import (
    MetricSpec,
    Modality,
    Prepared,
    SampleArtifacts,
    fingerprint_dataset,
    tiny_train,
)
from ganforge.platform.modality.registry import get_modality, modality_names, register

__all__ = [
    "MetricSpec",
    "Modality",
    "Prepared",
    "SampleArtifacts",
    "fingerprint_dataset",
    "get_modality",
    "modality_names",
    "register",
    "tiny_train",
]
