"""GAN core: losses, penalties, EMA and the adversarial step, independent of any modality."""

from ganforge.platform.gan.ema import make_ema_copy, update_ema
from ganforge.platform.gan.layers import add_spectral_norm
from ganforge.platform.gan.losses import discriminator_loss, generator_loss
from ganforge.platform.gan.penalties import gradient_penalty, r1_penalty
from ganforge.platform.gan.step import AdversarialStep, GanNets

__all__ = [
    "AdversarialStep",
    "GanNets",
    "add_spectral_norm",
    "discriminator_loss",
    "generator_loss",
    "gradient_penalty",
    "make_ema_copy",
    "r1_penalty",
    "update_ema",
]
