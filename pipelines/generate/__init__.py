"""`ganforge generate`: samples from a logged generator, written in the modality's file format."""

from ganforge.pipelines.generate.samples import generate_samples

__all__ = ["generate_samples"]
