"""Learning-rate decay (`gan.lr_decay`): one factor per G step on every optimizer's configured lr.

Written as a function of the step rather than as torch.optim.lr_scheduler objects: those keep a
step counter of their own that a checkpoint would have to carry, and objectives own several
optimizers (the tokens MLE phase's, TimeGAN's three). Here the factor is recomputed from the step,
so a resumed run, a PBT exploit that re-applies the config, and every optimizer agree on it.
"""

from __future__ import annotations

import math
from collections.abc import Mapping

import torch

from ganforge.platform.config.schema import LrDecayConfig
from ganforge.platform.gan.objective import OptimizerSpec


def lr_factor(step: int, cfg: LrDecayConfig, train_steps: int) -> float:
    """The factor on the configured lr at G step `step` (0-based)."""
    if cfg.kind == "none":
        return 1.0
    horizon = cfg.steps or train_steps
    progress = min(step / horizon, 1.0)
    if progress <= cfg.start:
        return 1.0
    t = (progress - cfg.start) / (1.0 - cfg.start)
    shape = 1.0 - t if cfg.kind == "linear" else 0.5 * (1.0 + math.cos(math.pi * t))
    return cfg.final + (1.0 - cfg.final) * shape


def set_lr_factor(
    optimizers: Mapping[str, torch.optim.Optimizer], specs: Mapping[str, OptimizerSpec], factor: float
) -> None:
    """Sets every optimizer's lr to `factor` × the lr its spec configures."""
    for name, optimizer in optimizers.items():
        for group in optimizer.param_groups:
            group["lr"] = specs[name].config.lr * factor
