"""Errors that are the user's to fix: the CLI prints them as one line, without a traceback."""

from __future__ import annotations


class GanforgeError(Exception):
    """Base of user-facing errors. `exit_code` is what the CLI exits with."""

    exit_code = 1


class ConfigError(GanforgeError, ValueError):
    """A config that cannot be used (exit code 2, like a usage error)."""

    exit_code = 2


class DataError(GanforgeError, ValueError):
    """Missing, empty or corrupt data (exit code 2): found before training starts."""

    exit_code = 2


class TrackingError(GanforgeError):
    """The tracking server or store cannot be used."""


class TrainingError(GanforgeError):
    """Training failed or diverged; the run is marked FAILED and nothing is registered."""
