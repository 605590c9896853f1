"""The train workflow: validate -> track -> run the loop -> evaluate -> register."""

from ganforge.pipelines.train.job import TrainOutcome, train

__all__ = ["TrainOutcome", "train"]
