"""Refresh progress on a terminal: requests sent, items read and retry notices, per account.

Nothing here runs outside a terminal: in a pipe or a CI log the refresh is silent (the plan is the
output). The HTTP layer reports through two loggers, ``reconciler.http.requests`` (one DEBUG record
per request) and ``reconciler.http.retries`` (one INFO record per retry, "throttled (HTTP 429);
retrying when the provider's window has room"); the engine reports each account's start and what
it read through ``notify``.
With colour and effects allowed a live status line counts requests; without (``NO_COLOR``,
``TERM=dumb``, ``--no-color``) the same news comes as plain lines.
"""

from __future__ import annotations

import logging
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import click

from reconciler.cli_support import is_tty, use_color

REQUESTS = "reconciler.http.requests"
RETRIES = "reconciler.http.retries"


class _Progress(logging.Handler):
    """Counts requests and shows retries while an account is refreshed."""

    def __init__(self, live: Any | None) -> None:
        super().__init__(logging.DEBUG)
        self.live = live  # a rich Status, or None for plain lines
        self._counting = threading.Lock()
        self.requests = 0
        self.current = ""

    def emit(self, record: logging.LogRecord) -> None:
        if record.name == REQUESTS:
            with self._counting:
                self.requests += 1
                count = self.requests
            if self.live is not None:
                self.live.update(f"{self.current}: {count:,} request(s)")
            return
        if record.name == RETRIES:
            self.say(f"  {record.getMessage()}")

    def say(self, line: str) -> None:
        if self.live is not None:
            self.live.console.print(line, markup=False, highlight=False)
        else:
            click.echo(line, err=True)

    def notify(self, message: str) -> None:
        """An account starts (``refreshing ...``) or is read (``read ...``)."""
        if message.startswith("refreshing "):
            with self._counting:
                self.requests = 0
            self.current = message
            if self.live is not None:
                self.live.update(message)
                return
        elif message.startswith("read "):
            message = f"{message} ({self.requests:,} request(s))"
        self.say(message)


@contextmanager
def refresh_progress() -> Iterator[Any]:
    """A ``notify`` callback for :meth:`reconciler.engine.Run.plan`, showing progress on a terminal
    (``None`` when stderr is not a terminal: nothing extra is printed)."""
    if not is_tty(sys.stderr):
        yield None
        return
    loggers = [logging.getLogger(REQUESTS), logging.getLogger(RETRIES)]
    levels = [logger.level for logger in loggers]
    status_cm: Any = None
    live = None
    if use_color(sys.stderr):
        from rich.console import Console

        status_cm = Console(file=sys.stderr).status("refreshing")
        live = status_cm.__enter__()
    handler = _Progress(live)
    for logger in loggers:
        logger.addHandler(handler)
        logger.setLevel(logging.DEBUG)
    try:
        yield handler.notify
    finally:
        for logger, level in zip(loggers, levels, strict=True):
            logger.removeHandler(handler)
            logger.setLevel(level)
        if status_cm is not None:
            status_cm.__exit__(None, None, None)
