"""`--show-pii` / `--mask-pii`: which outputs mask personal data (see docs/pii.md).

Markdown, HTML and JUnit (pull-request comments, CI reports) are masked unless ``--show-pii``;
text and JSON (a terminal, a pipe into another tool) are not unless ``--mask-pii``. Because a CI
log is shared, ``--show-pii`` is refused when ``CI`` is set to true unless it is given as
``--show-pii=force``.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping
from typing import Any, TypeVar

import click

from reconciler.config.types import Config
from reconciler.errors import ReconcilerError
from reconciler.pii import Masker, declared_names, load_key, mask_plan
from reconciler.plan import Plan

MASKED_FORMATS = frozenset({"markdown", "html", "junit"})
_FORCE_FLAG = "--show-pii-force"  # what --show-pii=force is rewritten to before parsing

F = TypeVar("F", bound=Callable[..., Any])


class PiiCommand(click.Command):
    """A command taking ``--show-pii`` as a flag and ``--show-pii=force`` as its forced form."""

    def parse_args(self, ctx: click.Context, args: list[str]) -> list[str]:
        rewritten = []
        for arg in args:
            if arg.startswith("--show-pii="):
                if arg != "--show-pii=force":
                    raise click.UsageError(f"{arg}: --show-pii takes no value other than =force", ctx)
                arg = _FORCE_FLAG
            rewritten.append(arg)
        return super().parse_args(ctx, rewritten)


def pii_options(command: F) -> F:
    """Add ``--show-pii[=force]`` and ``--mask-pii`` to a command built with :class:`PiiCommand`."""
    command = click.option(
        "--mask-pii", is_flag=True, help="Mask numbers, e-mail addresses and names in text and JSON too."
    )(command)
    command = click.option(_FORCE_FLAG, "show_pii_force", is_flag=True, hidden=True)(command)
    return click.option(
        "--show-pii",
        is_flag=True,
        help="Show numbers, e-mail addresses and names unmasked in Markdown, HTML and JUnit "
        "(refused when CI=true unless given as --show-pii=force).",
    )(command)


def in_ci(environ: Mapping[str, str] | None = None) -> bool:
    """Whether ``CI`` says this runs in continuous integration (true, 1 or yes, any case)."""
    env = os.environ if environ is None else environ
    return env.get("CI", "").strip().lower() in ("true", "1", "yes")


def wants_mask(
    fmt: str, show: bool, force: bool, mask: bool, environ: Mapping[str, str] | None = None
) -> bool:
    """Whether output in ``fmt`` is masked; raises ReconcilerError for a refused ``--show-pii``."""
    if (show or force) and mask:
        raise ReconcilerError("--show-pii and --mask-pii contradict each other; give one of them")
    if show and not force and in_ci(environ):
        raise ReconcilerError(
            "--show-pii would put phone numbers, e-mail addresses and names in a CI log (CI=true); "
            "give --show-pii=force to reveal them anyway"
        )
    if show or force:
        return False
    return mask or fmt in MASKED_FORMATS


def shown(plan: Plan, config: Config, masked: bool) -> Plan:
    """``plan`` as it may be shown: masked with the config repository's key when ``masked``."""
    return shown_and_hider(plan, config, masked)[0]


def shown_and_hider(plan: Plan, config: Config, masked: bool) -> tuple[Plan, Callable[[str], str]]:
    """:func:`shown`, and a function masking free text (apply's report lines) the same way."""
    if not masked:
        return plan, _same
    masker = Masker(load_key(config.root))
    names = declared_names(r for items in config.desired.values() for r in items.values())
    return mask_plan(plan, masker, names=names), masker.text


def _same(text: str) -> str:
    return text
