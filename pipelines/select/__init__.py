"""`ganforge select`: rank registered generators of an experiment by a metric and move an alias."""

from ganforge.pipelines.select.champion import Candidate, Ranking, select_champion

__all__ = ["Candidate", "Ranking", "select_champion"]
