"""Where a job's generator starts (model.init_generator): a weights file, a checkpoint folder, or a
registered model. A registered start's hand-off state (G's weights and the MLE phase's Adam state,
platform/gan/handoff.py) was fetched by the driver into this home's cache; a checkpoint folder's
`state.pt` also holds the MLE optimizer. Wherever that state is there, MLE continues from it.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import torch
from torch import nn

from ganforge.modalities.tokens.config import REGISTERED_START
from ganforge.platform.config.schema import OptimizerConfig
from ganforge.platform.errors import ConfigError
from ganforge.platform.gan.handoff import handoff_file
from ganforge.platform.gan.objective import apply_config


def start_state(source: Path | str) -> dict[str, Any]:
    """`generator` weights to start from, with `optimizers` by name where the source holds them."""
    if isinstance(source, str) and REGISTERED_START.match(source):
        file = handoff_file(source)
        if not file.is_file():
            raise ConfigError(
                f"model.init_generator = {source!r}: its hand-off state is not in this node's cache "
                f"({file}); `ganforge train` or `sweep` fetches it on the driver, whose home this node "
                "must share"
            )
    else:
        path = Path(source)
        file = path / "state.pt" if path.is_dir() else path
    state = torch.load(file, map_location="cpu", weights_only=False)
    return state if isinstance(state, dict) and "generator" in state else {"generator": state}


def load_generator_weights(generator: nn.Module, source: Path | str) -> None:
    """Loads G's weights from model.init_generator (ConfigError if they do not fit this G)."""
    try:
        generator.load_state_dict(start_state(source)["generator"])
    except (RuntimeError, KeyError) as error:
        first = str(error).strip().splitlines()[0]
        raise ConfigError(
            f"model.init_generator = {str(source)!r}: weights do not fit this generator ({first})"
        ) from None


def load_carried_optimizers(
    source: Path | str,
    optimizers: dict[str, torch.optim.Optimizer],
    configs: dict[str, OptimizerConfig],
    names: tuple[str, ...],
) -> list[str]:
    """Loads the start's states of the optimizers `names` (the MLE Adam) where it holds them; this
    job's config then decides their learning rate and betas. Returns the names loaded."""
    loaded = []
    for name, state in start_state(source).get("optimizers", {}).items():
        if name in names and name in optimizers:
            optimizers[name].load_state_dict(state)
            apply_config(optimizers[name], configs[name])
            loaded.append(name)
    return loaded
