"""The command line: parse, call the library, render, exit. The only module that prints
(with its helpers cli_support, cli_state and cli_tools).

Exit codes (all commands): 0 success and nothing to change / no drift; 1 error (invalid config,
API error, refused by safety limits); 2 changes present (`plan`) or drift found (`drift`).
"""

from __future__ import annotations

import logging
import sys
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import click

from reconciler import __version__, protect
from reconciler.apply import ApplyResult, apply_plan
from reconciler.changes import Action, Change
from reconciler.cli_drift import drift
from reconciler.cli_guard import GuardedGroup
from reconciler.cli_pii import PiiCommand, pii_options, shown, shown_and_hider, wants_mask
from reconciler.cli_prefetch import EarlyPlan
from reconciler.cli_progress import refresh_progress
from reconciler.cli_state import state
from reconciler.cli_support import (
    account_option,
    check_scope,
    common_options,
    config_option,
    is_tty,
    load_repo,
    pick_config,
    reported,
    safe,
    setup_logging,
    type_option,
    use_color,
    verbosity,
)
from reconciler.cli_tools import export, sandbox, schema
from reconciler.config.types import Config
from reconciler.engine import Run
from reconciler.errors import ReconcilerError, UnsafePlan
from reconciler.http import MAX_THREADS
from reconciler.plan import Plan
from reconciler.render import render
from reconciler.safety import violations
from reconciler.saved_plan import SavedPlan, save_plan
from reconciler.state import State, open_backend

log = logging.getLogger("reconciler")
FORMATS = ("text", "json", "markdown", "html", "junit")


@click.group(
    cls=GuardedGroup,
    context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100},
)
@click.version_option(__version__, prog_name="reconciler")
@common_options
def main() -> None:
    """Configuration as code for SMS messaging accounts.

    Keep groups, contacts, blocklists, phone lists, reminders and campaigns as YAML; `plan` shows the
    minimal change set against the live accounts and `apply` makes it so.

    Exit codes: 0 nothing to change / done, 2 changes present (plan) or drift found (drift), 1 any
    error, usage errors included.

    Example: reconciler plan -C examples/quickstart
    """
    setup_logging(verbosity())  # redacted logging even without -v; a -v after the subcommand adds to it


# -- validate ----------------------------------------------------------------------------------------
@main.command()
@click.argument("directory", required=False, type=click.Path(file_okay=False))
@config_option
@common_options
def validate(directory: str | None, config_dir: str | None) -> None:
    """Check the config repository: files, schema, references, numbers, URLs. No network and no
    credentials needed (an unset variable is a note).

    Example: reconciler validate examples/quickstart
    """
    with reported():
        config = load_repo(pick_config(directory, config_dir), offline=True)
    total = sum(len(items) for items in config.desired.values())
    click.echo(f"Valid: {len(config.files)} file(s), {len(config.accounts)} account(s), {total} resource(s).")


# -- plan --------------------------------------------------------------------------------------------
def _scope(accounts: tuple[str, ...], types: tuple[str, ...]) -> dict[str, Any]:
    return {"accounts": accounts, "types": frozenset(types) if types else None}


def _make_plan(run: Run, *, fingerprint_live: bool = True) -> tuple[Plan, Run, dict[tuple[str, str], int]]:
    """Plan with ``run``; the caller closes it (it is closed here when planning fails).

    ``fingerprint_live`` hashes the live items into the plan's meta, for a saved plan.
    """
    try:
        with refresh_progress() as notify:
            plan = run.plan(notify, fingerprint_live=fingerprint_live)
    except BaseException:
        run.close()
        raise
    return plan, run, run.live_counts


def _read_only_plan(
    directory: str,
    accounts: tuple[str, ...],
    types: tuple[str, ...],
    *,
    saving: bool = False,
    warn_limits: bool = False,
) -> tuple[Config, Plan]:
    """Load the config and plan against the live accounts without taking the state lock.

    With ``warn_limits``, say on stderr which safety limits would make ``apply`` refuse the plan.
    """
    early = EarlyPlan(accounts, types)  # the refresh starts while the resource files load
    try:
        config = load_repo(directory, on_accounts=early.start)
        check_scope(config, accounts, types)
        started = early.take(config)
    finally:
        early.close()
    if started is None:
        backend = open_backend(config)
        run = None
    else:
        backend, run = started
    try:
        if run is None:
            run = Run(config, backend.load(), **_scope(accounts, types))
        result, run, live_counts = _make_plan(run, fingerprint_live=saving)
        run.close()
    finally:
        backend.close()
    if warn_limits:
        for problem in violations(result, live_counts, config.safety):
            click.echo(f"Warning: apply will refuse this plan: {problem}", err=True)
    return config, result


@main.command(cls=PiiCommand)
@click.argument("directory", required=False, type=click.Path(file_okay=False))
@config_option
@click.option(
    "--out", "out", type=click.Path(dir_okay=False), help="Save the plan for `reconciler apply PLAN`."
)
@click.option("--format", "fmt", type=click.Choice(FORMATS), default="text", show_default=True)
@account_option
@type_option
@pii_options
@common_options
def plan(
    directory: str | None,
    config_dir: str | None,
    out: str | None,
    fmt: str,
    accounts: tuple[str, ...],
    types: tuple[str, ...],
    show_pii: bool,
    show_pii_force: bool,
    mask_pii: bool,
) -> None:
    """Show the changes that would make the live accounts match the config.

    Exits 0 when there is nothing to change, 2 when there are changes, 1 on errors.

    Example: reconciler plan . --format json --out plan.json
    """
    with reported():
        masked = wants_mask(fmt, show_pii, show_pii_force, mask_pii)
        config, result = _read_only_plan(
            pick_config(directory, config_dir), accounts, types, saving=out is not None, warn_limits=True
        )
        if out:
            save_plan(result, Path(out), config)  # the saved plan keeps real values: apply needs them
        visible = shown(result, config, masked)
    text = render(visible, fmt, color=fmt == "text" and use_color(sys.stdout), verbose=verbosity() > 0)
    click.echo(text, nl=False)
    if out:
        click.echo(f"Saved the plan to {out}; apply it with: reconciler apply {out}", err=True)
    sys.exit(1 if result.errors else 2 if result.has_changes else 0)


# -- apply -------------------------------------------------------------------------------------------
@main.command()
@click.argument("target", required=False, type=click.Path(exists=True))
@click.option("--auto-approve", is_flag=True, help="Apply without asking (for CI).")
@click.option("--force", is_flag=True, help="Apply even when the plan exceeds the safety limits.")
@click.option(
    "--skip-unsupported", is_flag=True, help="Apply the rest of a plan that holds unsupported changes."
)
@click.option("--mask-pii", is_flag=True, help="Mask numbers, e-mail addresses and names in the output.")
@click.option(
    "--continue-on-error", is_flag=True, help="Keep applying changes that don't depend on a failed one."
)
@click.option(
    "--parallelism",
    type=click.IntRange(1, MAX_THREADS),
    default=1,
    show_default=True,
    metavar="N",
    help="Apply independent changes on N threads (accounts' rate limits still hold).",
)
@click.option(
    "--lock-timeout",
    type=float,
    default=0.0,
    show_default=True,
    metavar="SECONDS",
    help="How long to wait for another run holding an account's state lock.",
)
@config_option
@account_option
@type_option
@common_options
def apply(
    target: str | None,
    auto_approve: bool,
    force: bool,
    skip_unsupported: bool,
    mask_pii: bool,
    continue_on_error: bool,
    parallelism: int,
    lock_timeout: float,
    config_dir: str | None,
    accounts: tuple[str, ...],
    types: tuple[str, ...],
) -> None:
    """Plan, confirm and apply; or apply a saved plan exactly (refused if stale).

    TARGET is a config directory (default: -C/--config or the current directory) or a plan file
    saved by `plan --out`; with a plan file, -C/--config names the config directory it was made
    from when that is not where the plan says.

    Exits 0 when everything applied, 1 otherwise.

    Example: reconciler apply plan.json -C accounts/
    """
    saved: SavedPlan | None = None
    with reported():
        if target and Path(target).is_file():
            saved = SavedPlan.read(Path(target))
            config = load_repo(config_dir or _plan_root(target, saved))
            saved.check_config(config)
            accounts = saved.fingerprints.accounts
            types = saved.fingerprints.types or ()
        else:
            config = load_repo(pick_config(target, config_dir))
            check_scope(config, accounts, types)
        backend = open_backend(config)
        # Lock exactly the accounts in scope: applies for other accounts run side by side.
        scope = [name for name in accounts or config.accounts if name in config.accounts]
        try:
            with backend.lock(scope, command=" ".join(sys.argv[:3]), timeout=lock_timeout):
                state = backend.load()
                try:
                    ok = _apply_locked(
                        config,
                        state,
                        saved,
                        accounts,
                        types,
                        auto_approve,
                        _Overrides(force, skip_unsupported, mask_pii),
                        continue_on_error,
                        parallelism,
                    )
                finally:
                    state.save()
        finally:
            backend.close()
    sys.exit(0 if ok else 1)


@dataclass(frozen=True)
class _Overrides:
    """Apply's options: ``force`` past the safety limits, ``skip_unsupported`` past unsupported
    changes (which are never applied), ``mask_pii`` for the printed plan and report."""

    force: bool = False
    skip_unsupported: bool = False
    mask_pii: bool = False


def _plan_root(target: str, saved: SavedPlan) -> str:
    """The config directory a saved plan was made from, when it is there from here."""
    root = saved.root or "."
    if not (Path(root) / "reconciler.yaml").is_file():
        raise ReconcilerError(
            f"{target} was made from the config directory {root!r}, which has no reconciler.yaml "
            f"from here; name it with --config: reconciler apply {target} --config DIR"
        )
    return root


def _apply_locked(
    config: Config,
    state: State,
    saved: SavedPlan | None,
    accounts: tuple[str, ...],
    types: tuple[str, ...],
    auto_approve: bool,
    overrides: _Overrides,
    continue_on_error: bool,
    parallelism: int = 1,
) -> bool:
    run = Run(config, state, **_scope(accounts, types))
    result, run, live_counts = _make_plan(run, fingerprint_live=saved is not None)
    try:
        if saved is not None:
            saved.check_fresh(config, state.lineage, result)
            auto_approve = True  # the saved plan was reviewed; applying it is the approval
        visible, hide = shown_and_hider(result, config, overrides.mask_pii)
        click.echo(render(visible, "text", color=use_color(sys.stdout), verbose=verbosity() > 0), nl=False)
        if result.errors:
            raise UnsafePlan("the plan has errors (above); fix them and plan again")
        if not result.has_changes:
            if result.adoptions:
                apply_plan(result, run.providers, state, live=run.live)
            _record_protection(config, state, run, (), hide)
            return True
        unsupported = [c for c in result.changes if c.action is Action.UNSUPPORTED]
        if unsupported and not overrides.skip_unsupported:
            raise UnsafePlan(
                f"the plan has {len(unsupported)} unsupported change(s) that cannot be applied; "
                "change the config so they disappear, or rerun with --skip-unsupported to skip them"
            )
        problems = violations(result, live_counts, config.safety)
        if problems and not overrides.force:
            raise UnsafePlan("; ".join(problems))
        if not result.applicable:
            click.echo("Nothing that can be applied.")
            _record_protection(config, state, run, (), hide)
            return True
        if not auto_approve and not _confirm():
            click.echo("Apply cancelled; nothing was changed.", err=True)
            return False
        with _progress(len(result.applicable), hide) as tell:
            outcome = apply_plan(
                result,
                run.providers,
                state,
                continue_on_error=continue_on_error,
                progress=tell,
                parallelism=parallelism,
                live=run.live,
            )
        _record_protection(config, state, run, outcome.applied, hide)
        _report(outcome, hide, listed=not use_color(sys.stderr))
        return outcome.ok
    finally:
        run.close()


def _record_protection(
    config: Config, state: State, run: Run, applied: Iterable[Change], hide: Callable[[str], str]
) -> None:
    """Record the declared ``protect:`` of the items in scope now that they exist (see protect.py)."""
    synced = protect.sync(config, state, run.live, applied, run.accounts, run.types)
    for account, type_, key in synced.protected:
        click.echo(hide(f"Protected: {account}/{type_}/{key}"), err=True)
    for account, type_, key in synced.unprotected:
        click.echo(hide(f"Unprotected: {account}/{type_}/{key}"), err=True)


def _confirm() -> bool:
    if not sys.stdin or not is_tty(sys.stdin):
        raise ReconcilerError(
            "apply needs confirmation but stdin is not a terminal; review the plan and "
            "rerun with --auto-approve (or apply a saved plan)"
        )
    answer = click.prompt(
        "Do you want to perform these actions? Only 'yes' will be accepted",
        default="",
        show_default=False,
        err=True,
    )
    return str(answer).strip() == "yes"


@contextmanager
def _progress(total: int, hide: Callable[[str], str]) -> Iterator[Callable[[Change, str], None] | None]:
    """A rich progress bar on stderr while applying, on a terminal with effects allowed; else one
    plain line per applied change on stdout (for CI logs). ``hide`` masks each line (--mask-pii)."""
    if not use_color(sys.stderr):

        def applied_line(change: Change, what: str) -> None:
            if what == "applied":  # failures and skips are reported with their reason at the end
                click.echo(hide(f"Applied: {change.action.value} {change.address}"))

        yield applied_line
        return
    from rich.console import Console
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    columns = (
        TextColumn("applying"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        TextColumn("{task.description}"),
    )
    with Progress(*columns, console=Console(file=sys.stderr)) as bar:
        task = bar.add_task("", total=total)

        def tell(change: Change, what: str) -> None:
            line = hide(f"{what}: {change.action.value} {change.address}")
            bar.update(task, advance=1, description=line)

        yield tell


def _summary_table(outcome: ApplyResult) -> None:
    """Per account and type: how many changes applied, failed and were skipped (a rich table)."""
    from rich.console import Console
    from rich.table import Table

    counts: dict[tuple[str, str], list[int]] = {}
    groups = (outcome.applied, [c for c, _ in outcome.failed], [c for c, _ in outcome.skipped])
    for column, changes in enumerate(groups):
        for change in changes:
            counts.setdefault((change.account, change.type), [0, 0, 0])[column] += 1
    table = Table(title="Apply result", title_justify="left")
    for name, justify in (
        ("account", "left"),
        ("type", "left"),
        ("applied", "right"),
        ("failed", "right"),
        ("skipped", "right"),
    ):
        table.add_column(name, justify=justify)  # type: ignore[arg-type]
    for (account, type_), (applied, failed, skipped) in sorted(counts.items()):
        table.add_row(account, type_, str(applied), str(failed), str(skipped))
    Console(file=sys.stderr, width=100, color_system="auto" if use_color(sys.stderr) else None).print(table)


def _report(outcome: ApplyResult, hide: Callable[[str], str], *, listed: bool = False) -> None:
    """Apply's report on stderr; ``hide`` masks each line (identity unless --mask-pii); ``listed``:
    each applied change was already printed as it happened."""
    for warning in outcome.warnings:
        click.echo(hide(f"Warning: {safe(warning)}"), err=True)
    if not outcome.ok and not listed:  # what did happen, change by change, beside what did not
        for change in outcome.applied:
            click.echo(hide(f"Applied: {change.action.value} {safe(change.address)}"), err=True)
    for change, error in outcome.failed:
        click.echo(hide(f"Failed: {change.action.value} {safe(change.address)}: {safe(error)}"), err=True)
    for change, why in outcome.skipped:
        click.echo(hide(f"Skipped: {change.action.value} {safe(change.address)}: {safe(why)}"), err=True)
    if not outcome.ok:
        _summary_table(outcome)
    line = (
        f"Apply complete: {len(outcome.applied)} applied, {len(outcome.failed)} failed, "
        f"{len(outcome.skipped)} skipped."
    )
    click.echo(
        line if outcome.ok else f"Error: {line} Run `reconciler plan` to see what is left.",
        err=not outcome.ok,
    )


main.add_command(state)
main.add_command(drift)
main.add_command(sandbox)
main.add_command(export)
main.add_command(schema)

if __name__ == "__main__":
    main()
