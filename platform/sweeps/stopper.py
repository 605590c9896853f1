"""Divergence-aware stopping: end hopeless trials early and remember why."""

from __future__ import annotations

import math
from collections import defaultdict
from typing import Any

from ray.tune.stopper import Stopper

from ganforge.platform.config.sweep import DivergenceConfig
from ganforge.platform.tracking.sweep_runs import tag_stopped_trial

LOSS_KEYS = ("loss_d", "loss_g")


class DivergenceStopper(Stopper):
    """Stops a trial on NaN/Inf losses, on a discriminator that wins outright for k reports in a
    row, on the modality's collapse signal, or past its time budget. `reasons` maps trial ids
    to why they were stopped; the sweep pipeline tags the trials' MLflow runs with it.
    """

    def __init__(
        self, cfg: DivergenceConfig, time_s: float | None = None, sweep_runs: dict[str, str] | None = None
    ) -> None:
        self.cfg = cfg
        self.time_s = time_s
        self.sweep_runs = sweep_runs
        self.reasons: dict[str, str] = {}
        self._d_wins: dict[str, int] = defaultdict(int)

    def __call__(self, trial_id: str, result: dict[str, Any]) -> bool:
        reason = self._reason(trial_id, result)
        if reason is not None:
            self.reasons[trial_id] = reason
            if self.sweep_runs is not None:  # recorded at once: it survives an interrupted sweep
                tag_stopped_trial(self.sweep_runs, trial_id, reason)
        return reason is not None

    def _reason(self, trial_id: str, result: dict[str, Any]) -> str | None:
        cfg = self.cfg
        if cfg.nonfinite:
            bad = [k for k in LOSS_KEYS if k in result and not math.isfinite(float(result[k]))]
            if bad:
                return f"non-finite {', '.join(bad)} at step {result.get('step')}"
        if cfg.d_wins_reports and "d_real" in result and "d_fake" in result:
            gap = float(result["d_real"]) - float(result["d_fake"])
            self._d_wins[trial_id] = self._d_wins[trial_id] + 1 if gap > cfg.d_wins_gap else 0
            if self._d_wins[trial_id] >= cfg.d_wins_reports:
                return f"discriminator wins outright (logit gap {gap:.1f}) for {cfg.d_wins_reports} reports"
        if cfg.collapse_metric is not None and cfg.collapse_metric in result:
            value = float(result[cfg.collapse_metric])
            if result.get("step", 0) >= cfg.collapse_after and value < float(cfg.collapse_below or 0):
                return f"collapse: {cfg.collapse_metric} = {value:g} < {cfg.collapse_below:g}"
        if self.time_s is not None and result.get("time_total_s", 0) > self.time_s:
            return f"time limit {self.time_s:g}s"
        return None

    def stop_all(self) -> bool:
        return False
