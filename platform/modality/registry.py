"""The one registry of modalities.

Modalities are found through the `ganforge.modalities` entry-point group, so the platform never
imports a modality by name and a third-party package can add one by declaring the entry point.
Entry points are loaded on first use, one at a time: a toy job does not import audio libraries.
"""

from __future__ import annotations

from importlib.metadata import entry_points

from ganforge.platform.modality.contract import Modality

ENTRY_POINT_GROUP = "ganforge.modalities"
_registered: dict[str, Modality] = {}


def register(modality: Modality) -> Modality:
    """Registers a modality instance under its name (for modalities defined outside a package)."""
    _registered[modality.name] = modality
    return modality


def modality_names() -> list[str]:
    """Names of all known modalities, sorted."""
    return sorted({*(e.name for e in entry_points(group=ENTRY_POINT_GROUP)), *_registered})


def get_modality(name: str) -> Modality:
    """Returns the registered modality called `name`.

    Raises:
        KeyError: no modality has that name.
    """
    if name not in _registered:
        found = entry_points(group=ENTRY_POINT_GROUP, name=name)
        if not found:
            raise KeyError(name)
        _registered[name] = next(iter(found)).load()
    return _registered[name]
