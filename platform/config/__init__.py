"""Typed job configs: schema, YAML loading and the one override mechanism."""

from ganforge.platform.config.loading import (
    ConfigError,
    apply_overrides,
    load_job_dict,
    load_job_file,
    parse_override,
)
from ganforge.platform.config.schema import (
    AdaConfig,
    EmaConfig,
    GanConfig,
    JobConfig,
    OptimizerConfig,
    StrictModel,
    TrackingConfig,
    TrainConfig,
)

__all__ = [
    "AdaConfig",
    "ConfigError",
    "EmaConfig",
    "GanConfig",
    "JobConfig",
    "OptimizerConfig",
    "StrictModel",
    "TrackingConfig",
    "TrainConfig",
    "apply_overrides",
    "load_job_dict",
    "load_job_file",
    "parse_override",
]
