"""`reconciler drift`: audit the live accounts against the config, report, remember, notify."""

from __future__ import annotations

import sys
from datetime import UTC, datetime
from pathlib import Path

import click

from reconciler import secrets
from reconciler.cli_pii import PiiCommand, pii_options, wants_mask
from reconciler.cli_progress import refresh_progress
from reconciler.cli_support import (
    account_option,
    check_scope,
    common_options,
    config_option,
    fail,
    load_repo,
    pick_config,
    reported,
    type_option,
)
from reconciler.config.types import Config
from reconciler.drift import FORMATS, git_revision, render
from reconciler.drift.build import build_report
from reconciler.drift.history import Run as HistoryRun
from reconciler.drift.history import append_run, last_alerted, read_history, run_of, with_history
from reconciler.drift.mask import mask_report
from reconciler.drift.model import DEFAULT_FAIL_ON, DriftReport, FailOn
from reconciler.drift.notify import check_webhook, compare, payload, post, shown
from reconciler.engine import Failures, Run
from reconciler.errors import ReconcilerError
from reconciler.pii import Masker, declared_names, load_key
from reconciler.state import atomic_write, open_backend

FAIL_ON_CHOICES = ", ".join(f.value for f in FailOn)


def utcnow() -> datetime:
    """The time of the check (tests replace it to make runs an hour apart)."""
    return datetime.now(UTC)


def _fail_on(values: tuple[str, ...]) -> frozenset[FailOn]:
    """``--fail-on drift,unmanaged`` (repeatable, comma-separated; ``none`` for never)."""
    if not values:
        return DEFAULT_FAIL_ON
    chosen: set[FailOn] = set()
    for value in values:
        for word in value.split(","):
            word = word.strip().lower()
            if word == "none":
                continue
            try:
                chosen.add(FailOn(word))
            except ValueError:
                fail(f"--fail-on: {word!r} is not one of: {FAIL_ON_CHOICES}, none")
    return frozenset(chosen)


def audit(
    config: Config, accounts: tuple[str, ...], types: tuple[str, ...], fail_on: frozenset[FailOn]
) -> DriftReport:
    """Read every account in scope (a failed read fails only its types) and build the report."""
    backend = open_backend(config)
    try:
        state = backend.load()
        run = Run(config, state, accounts, frozenset(types) if types else None, now=utcnow)
        try:
            failures: Failures = {}
            with refresh_progress() as notify:
                plan = run.plan(notify, failures, fingerprint_live=False)
            return build_report(
                plan,
                run.targets(),
                live=run.live,
                desired=config.desired,
                state={name: state.account(name) for name in run.accounts},
                failures=failures,
                checked_at=plan.created_at,
                revision=git_revision(config.root),
                fail_on=fail_on,
            )
        finally:
            run.close()
    finally:
        backend.close()


def _remember(
    report: DriftReport, runs: list[HistoryRun], notify: str | None
) -> tuple[DriftReport, HistoryRun]:
    """Add since/trend from the earlier ``runs``, notify when the drift state changed; return the
    report and the history line of this run (appended once the report is out)."""
    alerted = last_alerted(runs)
    report = with_history(report, [*runs, run_of(report, alerted)])
    change = compare(report, alerted)
    if notify and change.event:
        problem = post(notify, payload(report, change))
        if problem:
            click.echo(
                f"Warning: the drift notification was not delivered: {problem}; the next run tries again.",
                err=True,
            )
        else:
            alerted = change.current
            click.echo(f"Notified {shown(notify)}: {change.event}.", err=True)
    return report, run_of(report, alerted)


@click.command(cls=PiiCommand)
@click.argument("directory", required=False, type=click.Path(file_okay=False))
@config_option
@click.option("--format", "fmt", type=click.Choice(FORMATS), default="text", show_default=True)
@click.option(
    "--output", type=click.Path(dir_okay=False), help="Write the report to this file instead of stdout."
)
@click.option(
    "--history",
    type=click.Path(dir_okay=False),
    help="Append this run to a JSON-lines history and show since when each type has drifted.",
)
@click.option(
    "--notify",
    metavar="URL",
    help="Post a JSON summary to this webhook when the drift state changes (needs --history).",
)
@click.option(
    "--fail-on",
    "fail_on",
    multiple=True,
    metavar="WHAT",
    help=f"What exits 2: {FAIL_ON_CHOICES} or none; comma-separated or repeated. Default: drift.",
)
@account_option
@type_option
@pii_options
@common_options
def drift(
    directory: str | None,
    config_dir: str | None,
    fmt: str,
    output: str | None,
    history: str | None,
    notify: str | None,
    fail_on: tuple[str, ...],
    accounts: tuple[str, ...],
    types: tuple[str, ...],
    show_pii: bool,
    show_pii_force: bool,
    mask_pii: bool,
) -> None:
    """Audit the live accounts against the config (for scheduled CI jobs).

    Reports per account and type whether it is in sync, drifted (changed, missing live, extra or
    unmanaged live items), not auditable (the provider cannot list it) or failed (the read
    failed). Exits 0 when nothing fails, 2 when something in --fail-on is found, 1 on errors
    (failed reads included).

    Example: reconciler drift . --format html --output drift.html --history drift.jsonl
    """
    chosen = _fail_on(fail_on)
    with reported():
        masked = wants_mask(fmt, show_pii, show_pii_force, mask_pii)
        if notify and not history:
            raise ReconcilerError(
                "--notify needs --history FILE: the history is how drift knows what it last told the webhook"
            )
        if notify:
            secrets.register(notify)  # a webhook URL carries its token: never print it
            check_webhook(notify)
        config = load_repo(pick_config(directory, config_dir))
        check_scope(config, accounts, types)
        runs: list[HistoryRun] = []
        if history:
            runs, warnings = read_history(Path(history))
            for warning in warnings:
                click.echo(f"Warning: {warning}", err=True)
        report = audit(config, accounts, types, chosen)
    line = None
    if history:
        report, line = _remember(report, runs, notify)
    if masked:
        with reported():
            masker = Masker(load_key(config.root))
        masker.names.update(declared_names(r for items in config.desired.values() for r in items.values()))
        report = mask_report(report, masker)
    text = render(report, fmt)
    if output:
        with reported():
            try:
                atomic_write(Path(output), text)
            except OSError as exc:
                raise ReconcilerError(
                    f"{output}: cannot write the drift report ({exc.strerror or exc})"
                ) from None
        click.echo(f"Wrote the drift report to {output}.", err=True)
    else:
        click.echo(text, nl=False)
    if history and line is not None:
        with reported():  # after the report: a history that can't be written doesn't hide it
            append_run(Path(history), line)
    sys.exit(report.exit_code)
