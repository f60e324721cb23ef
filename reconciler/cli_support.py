"""Shared pieces of the command line: redacted logging, one-line errors, config loading, options.

Options every command accepts (also after the subcommand): ``-v/--verbose`` and ``--no-color``;
``-C/--config DIR`` names the config directory. Usage errors exit 1 (click's default is 2, which
this tool reserves for "changes present"): :class:`ReconcilerGroup` sets it in one place.
"""

from __future__ import annotations

import logging
import os
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, NoReturn, TypeVar

import click

from reconciler.config.load import load_config
from reconciler.config.types import Config
from reconciler.errors import ConfigError, ReconcilerError
from reconciler.escapes import escape_controls
from reconciler.secrets import redact
from reconciler.types import TYPES

F = TypeVar("F", bound=Callable[..., Any])
USAGE_EXIT = 1
_META = "reconciler.cli"


class _Redacting(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        record.msg = redact(record.getMessage())
        record.args = None
        return True


def setup_logging(verbose: int) -> None:
    handler = logging.StreamHandler(sys.stderr)
    handler.addFilter(_Redacting())
    handler.setFormatter(logging.Formatter("%(levelname)s %(name)s: %(message)s"))
    level = logging.WARNING if verbose == 0 else logging.INFO if verbose == 1 else logging.DEBUG
    handler.setLevel(level)  # loggers that progress turns up (cli_progress) stay quiet here
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)


class ReconcilerGroup(click.Group):
    """A click group whose usage errors (unknown command, option or value; no command) exit 1."""

    def make_context(self, *args: Any, **kwargs: Any) -> click.Context:
        try:
            return super().make_context(*args, **kwargs)
        except click.UsageError as exc:
            exc.exit_code = USAGE_EXIT  # type: ignore[misc]  # click declares it per class
            raise

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except click.UsageError as exc:
            exc.exit_code = USAGE_EXIT  # type: ignore[misc]  # click declares it per class
            raise


def _settings() -> dict[str, Any]:
    ctx = click.get_current_context(silent=True)
    if ctx is None:
        return {"verbose": 0, "no_color": False}
    settings: dict[str, Any] = ctx.find_root().meta.setdefault(_META, {"verbose": 0, "no_color": False})
    return settings


def verbosity() -> int:
    """How many ``-v`` were given, before and after the subcommand together."""
    return int(_settings()["verbose"])


def _more_verbose(ctx: click.Context, param: click.Parameter, value: int) -> None:
    if value and not ctx.resilient_parsing:
        settings = _settings()
        settings["verbose"] += value
        setup_logging(settings["verbose"])


def _no_color(ctx: click.Context, param: click.Parameter, value: bool) -> None:
    if value and not ctx.resilient_parsing:
        _settings()["no_color"] = True


def common_options(function: F) -> F:
    """``-v/--verbose`` and ``--no-color``, accepted by the group and by every command."""
    function = click.option(
        "--no-color",
        is_flag=True,
        expose_value=False,
        callback=_no_color,
        help="No colour or terminal effects (also NO_COLOR=1 or TERM=dumb).",
    )(function)
    return click.option(
        "-v",
        "--verbose",
        count=True,
        expose_value=False,
        callback=_more_verbose,
        help="More output on stderr: every warning, retries (-vv for debug).",
    )(function)


def use_color(stream: Any) -> bool:
    """Colour and terminal effects on ``stream``: a terminal, no ``NO_COLOR``, not ``TERM=dumb``,
    no ``--no-color``."""
    if not is_tty(stream) or os.environ.get("NO_COLOR") or os.environ.get("TERM") == "dumb":
        return False
    return not _settings()["no_color"]


def safe(text: object) -> str:
    """``text`` fit for a terminal: secrets redacted, control, bidi and invisible characters escaped
    (a provider's answer or a live item's name may carry ``ESC[2J`` or U+202E)."""
    return escape_controls(redact(str(text)))


def fail(message: str) -> NoReturn:
    click.echo(f"Error: {safe(message)}", err=True)
    sys.exit(1)


@contextmanager
def reported() -> Iterator[None]:
    """Report ReconcilerErrors on one line each (config problems: one line per problem), exit 1."""
    try:
        yield
    except ConfigError as exc:
        for problem in exc.problems:
            click.echo(safe(problem), err=True)
        count = len(exc.problems)
        click.echo(f"Error: {count} problem{'s' if count != 1 else ''} found; nothing was changed.", err=True)
        sys.exit(1)
    except ReconcilerError as exc:
        fail(str(exc))
    except OSError as exc:  # a file the user pointed at: unreadable, unwritable, a full disk
        where = f"{exc.filename}: " if exc.filename else ""
        fail(f"{where}{exc.strerror or exc} (check the path, its permissions and free space)")


def is_tty(stream: Any) -> bool:
    return bool(getattr(stream, "isatty", lambda: False)())


def status(message: str) -> None:
    """Progress for humans: on a terminal only, on stderr (dim when colour is allowed)."""
    if is_tty(sys.stderr):
        click.echo(click.style(message, dim=True) if use_color(sys.stderr) else message, err=True)


def load_repo(
    directory: str, *, offline: bool = False, on_accounts: Callable[[Config], None] | None = None
) -> Config:
    """Load the config at ``directory``, print its warnings and notes (``offline``: unset variables
    are notes, for `validate`; ``on_accounts``: see :func:`reconciler.config.load.load_config`)."""
    config = load_config(Path(directory), offline=offline, on_accounts=on_accounts)
    for warning in config.warnings:
        label = "Note" if warning.severity == "note" else "Warning"
        click.echo(f"{label}: {safe(warning)}", err=True)
    return config


def check_scope(config: Config, accounts: tuple[str, ...], types: tuple[str, ...]) -> None:
    """Refuse ``--account``/``--type`` that select nothing: an unknown account, or a type that no
    account in scope has (its provider lacks it), instead of a silent "No changes"."""
    from reconciler.providers.base import provider_info

    unknown = [a for a in accounts if a not in config.accounts]
    if unknown:
        choices = ", ".join(sorted(config.accounts))
        raise ReconcilerError(f"--account {unknown[0]!r} is not in reconciler.yaml (choose from: {choices})")
    names = accounts or tuple(sorted(config.accounts))
    for type_ in types:
        having = [a for a in names if type_ in provider_info(config.accounts[a].provider).capabilities]
        if not having and names:
            providers = ", ".join(f"{a} ({config.accounts[a].provider})" for a in names)
            raise ReconcilerError(
                f"--type {type_}: no account in scope supports it ({providers}); "
                "choose another type or account"
            )


def config_option(function: F) -> F:
    """``-C/--config DIR``: the config directory (the directory holding reconciler.yaml)."""
    return click.option(
        "-C",
        "--config",
        "config_dir",
        type=click.Path(file_okay=False),
        default=None,
        metavar="DIR",
        help="Config directory (holds reconciler.yaml); default: the current directory.",
    )(function)


def pick_config(positional: str | None, option: str | None) -> str:
    """The config directory from a positional DIR or ``-C/--config`` (both: they must agree)."""
    if positional and option and os.path.realpath(positional) != os.path.realpath(option):
        raise click.UsageError(
            f"two config directories given ({positional} and --config {option}); give only one"
        )
    return option or positional or "."


def _account_names(ctx: click.Context, param: click.Parameter, incomplete: str) -> list[str]:
    """Shell completion of --account: the account names in the config directory's reconciler.yaml."""
    import yaml

    from reconciler.config.accounts import protect_env_refs

    directory = ctx.params.get("config_dir") or ctx.params.get("directory") or "."
    try:
        data = yaml.safe_load(protect_env_refs((Path(directory) / "reconciler.yaml").read_bytes()))
        names = list((data or {}).get("accounts") or {})
    except (OSError, yaml.YAMLError, AttributeError, TypeError):
        return []
    return [str(name) for name in names if str(name).startswith(incomplete)]


account_option = click.option(
    "--account",
    "accounts",
    multiple=True,
    metavar="A",
    help="Only this account (repeatable).",
    shell_complete=_account_names,
)
TYPE_NAMES = tuple(TYPES)  # the user types and the sub-resources (memberships) on their own
type_option = click.option(
    "--type",
    "types",
    multiple=True,
    metavar="T",
    help="Only this resource type (repeatable).",
    type=click.Choice(TYPE_NAMES),
)
