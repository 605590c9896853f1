"""`ganforge select`: rank registered generators of an experiment by a metric and move an alias."""

from ganforge.pipelines.select.champion import Candidate, select_champion

__all__ = ["Candidate", "select_champion"]
