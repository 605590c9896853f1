"""What every command shares: one-line errors with an exit code, and the `--set` option."""

from __future__ import annotations

import os
import sys
import traceback
from collections.abc import Callable
from functools import wraps
from typing import Any

import click

from ganforge.platform.errors import GanforgeError


def user_errors(command: Callable[..., Any]) -> Callable[..., Any]:
    """Turns a GanforgeError into one line on stderr and its exit code: no traceback."""

    @wraps(command)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return command(*args, **kwargs)
        except GanforgeError as error:
            if os.environ.get("GANFORGE_DEBUG"):
                traceback.print_exc()  # for bug reports: the chain behind the one-line message
            # One line: a wrapped library error can carry a multi-line report of its own.
            lines = str(error).strip().splitlines() or [type(error).__name__]
            click.echo(f"error: {lines[0]}", err=True)
            sys.exit(error.exit_code)
        except KeyboardInterrupt:
            click.echo("interrupted", err=True)
            sys.exit(130)

    return wrapper


def set_option(example: str) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """`--set KEY=VALUE` (repeatable): the one override mechanism, on every command that reads a config."""
    return click.option(
        "--set",
        "overrides",
        metavar="KEY=VALUE",
        multiple=True,
        help=f"Override a config value by dotted key, e.g. --set {example} (repeatable).",
    )
