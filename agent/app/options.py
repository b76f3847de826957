"""What every command shares: error handling at the edge and the common options."""

from __future__ import annotations

import functools
import logging
import sys
import traceback
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import click

from computewatch.app.exits import EXIT_INTERNAL
from computewatch.domain.errors import ComputewatchError

F = TypeVar("F", bound=Callable[..., Any])


def handle_errors(fn: F) -> F:
    """Turn known errors into a one-line message and their exit code; anything else is exit 1."""

    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return fn(*args, **kwargs)
        except ComputewatchError as exc:
            click.echo(f"error: {exc}", err=True)
            sys.exit(exc.exit_code)
        except click.exceptions.Exit:
            raise
        except Exception as exc:  # noqa: BLE001 - the last line of defence: report, never swallow
            click.echo(f"internal error: {type(exc).__name__}: {exc}", err=True)
            if logging.getLogger().isEnabledFor(logging.DEBUG):
                traceback.print_exc()
            else:
                click.echo("(run with --debug for the traceback)", err=True)
            sys.exit(EXIT_INTERNAL)

    return wrapper  # type: ignore[return-value]


CONFIG_OPTION = click.option(
    "--config",
    "config_path",
    type=click.Path(path_type=Path, dir_okay=False),
    envvar="COMPUTEWATCH_CONFIG",
    required=True,
    help="Configuration file (YAML). Also read from $COMPUTEWATCH_CONFIG.",
)

STORE_OPTION = click.option("--store", "store_url", help="Store URL, overriding the config.")
