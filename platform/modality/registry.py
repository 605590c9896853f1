"""The one registry of modalities.

Modalities are found through the `ganforge.modalities` entry-point group, so the platform never
imports a modality by name and a third-party package can add one by declaring the entry point.
"""

from __future__ import annotations

from functools import cache
from importlib.metadata import entry_points

from ganforge.platform.modality.contract import Modality

ENTRY_POINT_GROUP = "ganforge.modalities"
_registered: dict[str, Modality] = {}


def register(modality: Modality) -> Modality:
    """Registers a modality instance under its name (for modalities defined outside a package)."""
    _registered[modality.name] = modality
    return modality


@cache
def _discovered() -> dict[str, Modality]:
    found: dict[str, Modality] = {}
    for entry in entry_points(group=ENTRY_POINT_GROUP):
        found[entry.name] = entry.load()
    return found


def modality_names() -> list[str]:
    """Names of all known modalities, sorted."""
    return sorted({*_discovered(), *_registered})


def get_modality(name: str) -> Modality:
    """Returns the registered modality called `name`.

    Raises:
        KeyError: no modality has that name.
    """
    modality = _registered.get(name) or _discovered().get(name)
    if modality is None:
        raise KeyError(name)
    return modality
