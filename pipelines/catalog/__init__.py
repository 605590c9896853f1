"""`ganforge modalities`: what this installation can train, and the shipped configs for each."""

from ganforge.pipelines.catalog.listing import ModalityEntry, ObjectiveEntry, list_modalities

__all__ = ["ModalityEntry", "ObjectiveEntry", "list_modalities"]
