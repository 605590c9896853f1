"""The sweep workflow: validate -> parent run -> Ray Tune trials -> summary -> register the best."""

from typing import Any

from ganforge.pipelines.sweep.config import load_sweep_file
from ganforge.pipelines.sweep.outcome import SweepOutcome, TrialSummary

__all__ = ["SweepOutcome", "TrialSummary", "load_sweep_file", "run_sweep"]


def __getattr__(name: str) -> Any:
    # run_sweep loads Ray Tune and MLflow (seconds): only when a sweep runs, so that
    # `ganforge sweep` answers a bad file at once.
    if name == "run_sweep":
        from ganforge.pipelines.sweep.run import run_sweep

        return run_sweep
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
