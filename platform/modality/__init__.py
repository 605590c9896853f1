"""The modality contract and the one registry every modality goes through."""

from ganforge.platform.modality.contract import MetricSpec, Modality, SampleArtifacts
from ganforge.platform.modality.registry import get_modality, modality_names, register

__all__ = ["MetricSpec", "Modality", "SampleArtifacts", "get_modality", "modality_names", "register"]
