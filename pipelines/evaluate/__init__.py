"""`ganforge evaluate`: recompute a registered generator's metrics and record them on the version."""

from ganforge.pipelines.evaluate.registered import evaluate_model, score_token_file

__all__ = ["evaluate_model", "score_token_file"]
