"""The registered modalities, their objectives and their shipped job configs."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import yaml
from pydantic import ValidationError

from ganforge.platform.modality import get_modality, modality_names

REPO_CONFIGS = Path(__file__).resolve().parents[2] / "configs"
"""The repository's configs/ folder (absent when ganforge is installed from a wheel)."""


@dataclass(frozen=True)
class ObjectiveEntry:
    name: str
    gan_options: list[str]
    """The gan.* options it honours; a job that sets another one is refused."""


@dataclass(frozen=True)
class ModalityEntry:
    name: str
    objectives: list[ObjectiveEntry]
    metrics: list[str]
    configs: dict[str, str]
    """Shipped job config -> the objective it trains with."""

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def list_modalities(configs_root: Path | None = None) -> list[ModalityEntry]:
    """Every registered modality with its objectives, metrics and the job configs under
    `configs_root/<modality>/` (default: ./configs if it exists, else the repository's)."""
    root = configs_root or (Path("configs") if Path("configs").is_dir() else REPO_CONFIGS)
    entries = []
    for name in modality_names():
        modality = get_modality(name)
        objectives = [ObjectiveEntry(o.name, sorted(o.honours())) for o in modality.objectives]
        metrics = [m.name for m in modality.metrics]
        entries.append(ModalityEntry(name, objectives, metrics, _configs(root / name, name)))
    return entries


def _configs(folder: Path, name: str) -> dict[str, str]:
    """Job configs in `folder` (sweep files and data are not jobs) -> their objective's name."""
    modality = get_modality(name)
    found = {}
    for path in sorted(folder.glob("*.yaml")) if folder.is_dir() else []:
        raw = yaml.safe_load(path.read_text(encoding="utf-8"))
        if not isinstance(raw, dict) or raw.get("modality") != name:
            continue
        try:
            model = modality.model_config.model_validate(raw.get("model") or {})
        except ValidationError:
            found[str(path)] = "(model section does not validate)"
            continue
        found[str(path)] = modality.objective(model).name
    return found
