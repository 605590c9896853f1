"""A registered generator's hand-off: what a later job that starts from it takes over.

When a job's objective carries optimizers (`Objective.carried_optimizers`, e.g. the tokens MLE
phase's Adam), its run stores G's trained weights with those optimizers' states as the artifact
HANDOFF_ARTIFACT. A job that names the registered model as its start (tokens:
`model.init_generator: models:/NAME/1`) has it fetched once, on the driver, into this home's
cache (`handoff_file`), where its workers read it: MLflow stays out of the modality.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from ganforge.platform.gan.objective import Objective
from ganforge.platform.home import ganforge_home

HANDOFF_ARTIFACT = "handoff/generator_state.pt"
"""Where the run behind a registered version keeps its hand-off state."""


def handoff_state(objective: type[Objective], checkpoint: Mapping[str, Any]) -> dict[str, Any] | None:
    """G's trained (not EMA) weights, the states of the objective's carried optimizers and the step
    of a final checkpoint's state (`generator`, `optimizers`, `step`); None if it carries none."""
    if not objective.carried_optimizers:
        return None
    optimizers = checkpoint["optimizers"]
    return {
        "generator": checkpoint["generator"],
        "optimizers": {name: optimizers[name] for name in objective.carried_optimizers},
        "step": checkpoint["step"],
    }


def handoff_file(model_uri: str) -> Path:
    """This home's cached copy of `model_uri`'s hand-off state (written by the driver at job start)."""
    name = model_uri.removeprefix("models:/").replace("/", "-").replace("@", "-")
    digest = hashlib.sha256(model_uri.encode()).hexdigest()[:8]
    return ganforge_home() / "cache" / "handoff" / f"{name}-{digest}.pt"
