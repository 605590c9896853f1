"""Network-level switches the platform applies to any modality's networks."""

from __future__ import annotations

from torch import nn
from torch.nn.utils.parametrizations import spectral_norm

_SPECTRAL_LAYERS = (nn.Linear, nn.Conv1d, nn.Conv2d, nn.ConvTranspose1d, nn.ConvTranspose2d)


def add_spectral_norm(module: nn.Module) -> nn.Module:
    """Wraps every linear and convolution layer of `module` in spectral normalisation."""
    for child in list(module.modules()):
        if isinstance(child, _SPECTRAL_LAYERS) and not hasattr(child, "parametrizations"):
            spectral_norm(child)
    return module
