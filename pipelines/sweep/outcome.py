"""What a sweep leaves behind: every trial's outcome and the registered best."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any


@dataclass(frozen=True)
class TrialSummary:
    trial_id: str
    params: dict[str, Any]
    value: float | None
    step: int
    outcome: str
    """completed | stopped: REASON | early-stopped by SCHEDULER | error: MESSAGE"""
    run_id: str | None


@dataclass(frozen=True)
class SweepOutcome:
    name: str
    path: str
    metric: str
    trials: list[TrialSummary]
    best: TrialSummary | None
    parent_run_id: str | None
    model_name: str | None
    model_version: str | None
    tracking_uri: str | None

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)
