"""The sweep workflow: validate -> parent run -> Ray Tune trials -> summary -> register the best."""

from ganforge.pipelines.sweep.config import load_sweep_file
from ganforge.pipelines.sweep.outcome import SweepOutcome, TrialSummary
from ganforge.pipelines.sweep.run import run_sweep

__all__ = ["SweepOutcome", "TrialSummary", "load_sweep_file", "run_sweep"]
