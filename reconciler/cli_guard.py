"""The last resort: an unexpected exception becomes one redacted line and a redacted debug log.

Every error a user can cause is a ``ReconcilerError`` and is reported by ``cli_support.reported``.
Anything else is a bug; its traceback may quote a credential or a provider's answer, so it is
never printed. :class:`GuardedGroup` writes it, redacted, to a private file in the temporary
directory and prints one line naming that file, for a bug report.
"""

from __future__ import annotations

import os
import sys
import tempfile
import time
import traceback
from pathlib import Path
from typing import Any

import click

from reconciler import __version__
from reconciler.cli_support import ReconcilerGroup
from reconciler.escapes import escape_lines
from reconciler.secrets import redact, redact_headers


def write_debug_log(exc: BaseException, directory: str | None = None) -> Path:
    """Write ``exc``'s traceback, redacted and escaped, to a new private file; return its path."""
    folder = Path(directory or tempfile.gettempdir())
    stamp = time.strftime("%Y%m%dT%H%M%S", time.gmtime())
    path = folder / f"reconciler-debug-{stamp}-{os.getpid()}.log"
    lines = [
        f"reconciler {__version__} on Python {sys.version.split()[0]}",
        "command: " + " ".join(sys.argv[1:]),
        "",
        *traceback.format_exception(type(exc), exc, exc.__traceback__),
    ]
    text = escape_lines(
        redact_headers(redact("".join(line if line.endswith("\n") else line + "\n" for line in lines)))
    )
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        handle.write(text)
    return path


class GuardedGroup(ReconcilerGroup):
    """The command group: usage errors exit 1 (ReconcilerGroup), and no command ends in a raw traceback."""

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except (click.exceptions.ClickException, click.exceptions.Exit, click.exceptions.Abort):
            raise
        except Exception as exc:  # noqa: BLE001 - the last resort, by design
            what = f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__
            shown = escape_lines(redact(what)).replace("\n", " ")[:200]
            try:
                where = f"a redacted report is in {write_debug_log(exc)}"
            except OSError as failed:
                where = f"no report could be written ({failed.strerror or failed})"
            click.echo(
                f"Error: internal error ({shown}). This is a bug in reconciler, not in your config; "
                f"{where} (attach it to a bug report)",
                err=True,
            )
            sys.exit(1)
