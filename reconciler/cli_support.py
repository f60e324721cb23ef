"""Shared pieces of the command line: redacted logging, one-line errors, config loading, options."""

from __future__ import annotations

import logging
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, NoReturn

import click

from reconciler.config.load import load_config
from reconciler.config.types import Config
from reconciler.errors import ConfigError, ReconcilerError
from reconciler.secrets import redact
from reconciler.types import USER_TYPES


class _Redacting(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        record.msg = redact(record.getMessage())
        record.args = None
        return True


def setup_logging(verbose: int) -> None:
    handler = logging.StreamHandler(sys.stderr)
    handler.addFilter(_Redacting())
    handler.setFormatter(logging.Formatter("%(levelname)s %(name)s: %(message)s"))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(logging.WARNING if verbose == 0 else logging.INFO if verbose == 1 else logging.DEBUG)


def fail(message: str) -> NoReturn:
    click.echo(f"Error: {redact(message)}", err=True)
    sys.exit(1)


@contextmanager
def reported() -> Iterator[None]:
    """Report ReconcilerErrors on one line each (config problems: one line per problem), exit 1."""
    try:
        yield
    except ConfigError as exc:
        for problem in exc.problems:
            click.echo(str(problem), err=True)
        count = len(exc.problems)
        click.echo(f"Error: {count} problem{'s' if count != 1 else ''} found; nothing was changed.", err=True)
        sys.exit(1)
    except ReconcilerError as exc:
        fail(str(exc))


def is_tty(stream: Any) -> bool:
    return bool(getattr(stream, "isatty", lambda: False)())


def status(message: str) -> None:
    """Progress for humans: on a terminal only, on stderr."""
    if is_tty(sys.stderr):
        click.echo(click.style(message, dim=True), err=True)


def load_repo(directory: str) -> Config:
    config = load_config(Path(directory))
    for warning in config.warnings:
        click.echo(f"Warning: {warning}", err=True)
    return config


account_option = click.option(
    "--account", "accounts", multiple=True, metavar="A", help="Only this account (repeatable)."
)
type_option = click.option(
    "--type",
    "types",
    multiple=True,
    metavar="T",
    help="Only this resource type (repeatable).",
    type=click.Choice(list(USER_TYPES)),
)
