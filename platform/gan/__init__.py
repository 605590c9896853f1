"""GAN core: losses, penalties, EMA and the objectives, independent of any modality."""

from ganforge.platform.gan.ema import make_ema_copy, update_ema
from ganforge.platform.gan.layers import add_spectral_norm
from ganforge.platform.gan.losses import discriminator_loss, generator_loss
from ganforge.platform.gan.objective import GanNets, Objective, OptimizerSpec
from ganforge.platform.gan.penalties import gradient_penalty, r1_penalty
from ganforge.platform.gan.step import AdversarialObjective

__all__ = [
    "AdversarialObjective",
    "GanNets",
    "Objective",
    "OptimizerSpec",
    "add_spectral_norm",
    "discriminator_loss",
    "generator_loss",
    "gradient_penalty",
    "make_ema_copy",
    "r1_penalty",
    "update_ema",
]
