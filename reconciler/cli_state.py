"""`reconciler state ...`: inspect, repair and move the state, like `terraform state`.

Every command works on the backend ``reconciler.yaml`` names (the file, or PostgreSQL); writers lock
only the accounts they touch. `push`/`pull` copy between the state file and the configured backend.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import click

from reconciler.cli_support import common_options, load_repo, reported, safe
from reconciler.config.types import Config
from reconciler.errors import ReconcilerError, StateError
from reconciler.model import KEY_FIELDS, InvalidNumber, normalize_number
from reconciler.protect import lift, tracked
from reconciler.state import FileBackend, StateBackend, open_backend
from reconciler.state.locks import unlock_verdict
from reconciler.state.transfer import copy_problems, merged


# -- state -------------------------------------------------------------------------------------------
@click.group()
@common_options
def state() -> None:
    """Inspect, repair and move the state (like `terraform state`)."""


def state_dir(function: Callable[..., None]) -> Callable[..., None]:
    """``-C/--config DIR`` (``--dir`` still works, the older spelling) and the common options."""
    function = click.option(
        "-C",
        "--config",
        "--dir",
        "directory",
        default=".",
        metavar="DIR",
        type=click.Path(file_okay=False),
        help="Config directory (its reconciler.yaml names the state backend); --dir is the older spelling.",
    )(function)
    return common_options(function)


lock_timeout_option = click.option(
    "--lock-timeout",
    type=float,
    default=0.0,
    metavar="SECONDS",
    help="How long to wait for a run holding an account's lock.",
)


@contextmanager
def _backend(directory: str) -> Iterator[tuple[Config, StateBackend]]:
    config = load_repo(directory, offline=True)  # provider credentials are not needed here
    backend = open_backend(config)
    try:
        yield config, backend
    finally:
        backend.close()


def _split(address: str) -> tuple[str, str, str]:
    parts = address.split("/", 2)
    if len(parts) != 3 or not all(parts):
        raise click.BadParameter(f"{address!r} is not ACCOUNT/TYPE/KEY (e.g. se-main/reminders/anna-dentist)")
    return parts[0], parts[1], parts[2]


def _address(address: str, config: Config) -> tuple[str, str, str]:
    """ACCOUNT/TYPE/KEY with a phone-number KEY read as E.164 in the account's region, as the state
    records it (``se-main/contacts/070-123 45 67`` is ``se-main/contacts/+46701234567``)."""
    account, type_, key = _split(address)
    settings = config.accounts.get(account)
    if settings is not None and KEY_FIELDS.get(type_) == "mobile" and "@" not in key:
        try:
            key = normalize_number(key, settings.region)
        except InvalidNumber:
            pass  # not a number after all: looked up as written
    return account, type_, key


def _missing(address: str) -> ReconcilerError:
    return ReconcilerError(f"{address} is not in the state (see `reconciler state list`)")


@state.command("list")
@state_dir
def state_list(directory: str) -> None:
    """List the recorded items as ACCOUNT/TYPE/KEY  ID.

    Example: reconciler state list -C examples/intime
    """
    with reported(), _backend(directory) as (_, backend):
        current = backend.load()
    for account, types in sorted(current.data["accounts"].items()):
        for type_, records in sorted(types.items()):
            for key, record in sorted(records.items()):
                mark = "	(protected)" if record.get("protect") else ""
                click.echo(f"{safe(f'{account}/{type_}/{key}')}	{safe(record.get('id'))}{mark}")
    for intent in current.intents:
        address = safe(f"{intent['account']}/{intent['type']}/{intent['key']}")
        started = safe(f"{intent.get('action')} started {intent.get('at')}")
        click.echo(f"{address}\t(uncertain: {started} without a recorded result)")


@state.command("show")
@click.argument("address")
@state_dir
def state_show(address: str, directory: str) -> None:
    """Show one recorded item as JSON (a number KEY may be written in any common format).

    Example: reconciler state show se-main/reminders/anna-dentist-dec
    """
    _split(address)
    with reported(), _backend(directory) as (config, backend):
        account, type_, key = _address(address, config)
        record = backend.load().account(account).get(type_, {}).get(key)
        if record is None:
            raise _missing(address)
    click.echo(json.dumps(record, indent=2, ensure_ascii=False))


@state.command("rm")
@click.argument("address")
@state_dir
@lock_timeout_option
def state_rm(address: str, directory: str, lock_timeout: float) -> None:
    """Forget one item (the live item is not touched).

    Example: reconciler state rm se-main/contacts/+46701234567
    """
    account = _split(address)[0]
    with (
        reported(),
        _backend(directory) as (config, backend),
        backend.lock([account], "state rm", lock_timeout),
    ):
        _, type_, key = _address(address, config)
        current = backend.load()
        recorded = key in current.account(account).get(type_, {})
        # An uncertain create (an intent without a result) is removed too, as the plan advises.
        if not (recorded or current.has_intent(account, type_, key)):
            raise _missing(address)
        if current.is_protected(account, type_, key):
            raise ReconcilerError(f"{address} is protected; run `reconciler state unprotect {address}` first")
        if recorded:
            current.forget(account, type_, key)
        current.resolve(account, type_, key)
        current.save()
    click.echo(f"Removed {address} from the state.")


@state.command("mv")
@click.argument("source")
@click.argument("destination")
@state_dir
@lock_timeout_option
def state_mv(source: str, destination: str, directory: str, lock_timeout: float) -> None:
    """Rename a recorded item (e.g. after renaming a reminder's key in the YAML).

    Example: reconciler state mv se-main/reminders/old-name se-main/reminders/new-name
    """
    account = _split(source)[0]
    if _split(source)[:2] != _split(destination)[:2]:
        raise click.BadParameter("source and destination must have the same ACCOUNT/TYPE")
    with (
        reported(),
        _backend(directory) as (config, backend),
        backend.lock([account], "state mv", lock_timeout),
    ):
        src, dst = _address(source, config), _address(destination, config)
        current = backend.load()
        records = current.account(src[0]).get(src[1], {})
        if src[2] not in records:
            raise _missing(source)
        if dst[2] in records:
            raise ReconcilerError(f"{destination} is already in the state; remove it first")
        record = dict(records[src[2]])
        ident, attrs = record.pop("id", None), record.pop("attrs", None) or {}
        current.record(dst[0], dst[1], dst[2], ident, attrs, **record)
        current.forget(*src)
        current.save()
    click.echo(f"Moved {source} to {destination}.")


@state.command("unlock")
@state_dir
@click.option(
    "--account", "accounts", multiple=True, metavar="A", help="Only this account's lock (repeatable)."
)
@click.option(
    "--force", is_flag=True, help="Break a lock held by a run on another host (never one on this host)."
)
def state_unlock(directory: str, accounts: tuple[str, ...], force: bool) -> None:
    """Clear the lock of a run that is gone; refuse while its holder is alive on this host.

    A lock is released by the system when its run ends, even a killed one; this command is for a
    holder on another host that is gone for good (with --force), and for clearing leftover records.

    Example: reconciler state unlock --account se-main
    """
    refused = []
    with reported(), _backend(directory) as (_, backend):
        statuses = backend.lock_status(list(accounts) or None)
        if not statuses:
            click.echo("No locks (nothing to unlock).")
            return
        for status in statuses:
            verdict = unlock_verdict(status, force)
            if verdict.action == "refuse":
                refused.append(verdict.message)
                continue
            backend.break_lock(status.account)
            if verdict.warning:
                click.echo(f"Warning: {verdict.warning}", err=True)
            click.echo(f"Unlocked {verdict.message}." if verdict.action == "break" else f"{verdict.message}.")
    for message in refused:
        click.echo(f"Error: {message}.", err=True)
    if refused:
        sys.exit(1)


@state.command("import")
@click.argument("address")
@click.argument("ident", metavar="ID")
@state_dir
@lock_timeout_option
def state_import(address: str, ident: str, directory: str, lock_timeout: float) -> None:
    """Record that a declared item exists with the provider id ID (adopt it instead of creating it).

    Use it for items the provider cannot list (InTime contacts, campaigns) that exist already, e.g.
    after an interrupted apply left them uncertain.

    Example: reconciler state import uk/campaigns/vip-preview 1042
    """
    _split(address)
    with reported(), _backend(directory) as (config, backend):
        account, type_, key = _address(address, config)
        item = config.desired.get((account, type_), {}).get(key)
        if item is None:
            raise ReconcilerError(f"{address} is not declared in the config; declare it first")
        with backend.lock([account], "state import", lock_timeout):
            current = backend.load()
            current.record(account, type_, key, ident, dict(item.attrs))
            current.save()
    click.echo(f"Recorded {address} as id {ident}.")


@state.command("unprotect")
@click.argument("address")
@state_dir
@lock_timeout_option
def state_unprotect(address: str, directory: str, lock_timeout: float) -> None:
    """Lift the protection of one item, so a plan may delete or replace it again.

    The other way is to apply the item with `protect: false`. A `protect: true` still in the YAML
    protects the item again (the plan refuses to delete it; the next apply records it).

    Example: reconciler state unprotect se-main/contacts/+46701234567
    """
    _split(address)
    with reported(), _backend(directory) as (config, backend):
        account, type_, key = _address(address, config)
        with backend.lock([account], "state unprotect", lock_timeout):
            current = backend.load()
            if not current.is_protected(account, type_, key):
                raise ReconcilerError(
                    f"{address} is not protected in the state (see `reconciler state list`)"
                )
            lift(current, account, type_, key, tracked=tracked(config, account, type_))
            current.save()
    click.echo(f"Unprotected {address}.")


# -- moving state ------------------------------------------------------------------------------------
file_option = click.option(
    "--file",
    "file",
    type=click.Path(dir_okay=False),
    help="The state file to copy (default: state.path of reconciler.yaml).",
)


def _local(config: Config, file: str | None, backend: StateBackend) -> FileBackend:
    path = Path(file) if file else config.state_path
    if isinstance(backend, FileBackend) and path.resolve() == backend.path.resolve():
        raise StateError(
            f"{path} is the configured state itself; set state.backend: postgres in reconciler.yaml, "
            "or name another file with --file"
        )
    return FileBackend(path)


def _copy(source: StateBackend, target: StateBackend, force: bool, lock_timeout: float) -> list[str]:
    """Copy ``source`` over ``target`` account by account (see :mod:`reconciler.state.transfer`)."""
    data = source.read_document()
    names = sorted(set(data["accounts"]) | set(data["serials"]))
    with target.lock(names, "state copy", lock_timeout):
        current = target.read_document()
        problems = copy_problems(data, current, target.where)
        if problems and not force:
            raise StateError(
                "refusing to overwrite newer state: " + "; ".join(problems) + ". Rerun with --force to "
                "overwrite it anyway (the writes it holds are lost)"
            )
        out, changed = merged(data, current)
        if changed or out["lineage"] != current["lineage"]:
            target.write_document(out, changed)
    return changed


@state.command("push")
@state_dir
@file_option
@click.option("--force", is_flag=True, help="Overwrite even a newer serial or another lineage.")
@lock_timeout_option
def state_push(directory: str, file: str | None, force: bool, lock_timeout: float) -> None:
    """Copy the state file into the configured backend (e.g. when moving to PostgreSQL).

    Refuses to overwrite an account whose serial there is newer, unless --force.

    Example: reconciler state push -C . --file .reconciler/state.json
    """
    with reported(), _backend(directory) as (config, backend):
        local = _local(config, file, backend)
        if not local.path.exists():
            raise StateError(f"{local.path}: no state file to push")
        changed = _copy(local, backend, force, lock_timeout)
    _done("Pushed", local.where, backend.where, changed)


@state.command("pull")
@state_dir
@file_option
@click.option("--force", is_flag=True, help="Overwrite even a newer serial or another lineage.")
@lock_timeout_option
def state_pull(directory: str, file: str | None, force: bool, lock_timeout: float) -> None:
    """Copy the configured backend's state into the state file (a local copy or a backup).

    Refuses to overwrite an account whose serial in the file is newer, unless --force.

    Example: reconciler state pull --file backup.json
    """
    with reported(), _backend(directory) as (config, backend):
        local = _local(config, file, backend)
        changed = _copy(backend, local, force, lock_timeout)
    _done("Pulled", backend.where, local.where, changed)


def _done(verb: str, source: str, target: str, changed: list[str]) -> None:
    if changed:
        click.echo(f"{verb} {len(changed)} account(s) from {source} to {target}: {', '.join(changed)}.")
    else:
        click.echo(f"{target} already holds everything in {source}; nothing copied.")


@state.command("migrate")
@state_dir
def state_migrate(directory: str) -> None:
    """Create or upgrade the state tables of the PostgreSQL backend (runs automatically too).

    Example: reconciler state migrate
    """
    with reported(), _backend(directory) as (_, backend):
        applied = backend.migrate()
    if backend.name == "file":
        click.echo("The file backend has no schema to migrate.")
    elif applied:
        click.echo(
            f"Migrated {backend.where} to version {applied[-1]} (applied: {', '.join(map(str, applied))})."
        )
    else:
        click.echo(f"{backend.where} is up to date.")
