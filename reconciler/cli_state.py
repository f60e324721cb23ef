"""`reconciler state ...`: inspect and repair the state file, like `terraform state`."""

from __future__ import annotations

import json
from pathlib import Path

import click

from reconciler.cli_support import load_repo, reported
from reconciler.errors import ReconcilerError
from reconciler.state import State, StateLock, unlock


# -- state -------------------------------------------------------------------------------------------
@click.group()
def state() -> None:
    """Inspect and repair the state file (like `terraform state`)."""


state_dir = click.option(
    "--dir",
    "directory",
    default=".",
    type=click.Path(file_okay=False),
    help="Config directory (its reconciler.yaml names the state file).",
)


def _state_path(directory: str) -> Path:
    return load_repo(directory).state_path


def _address(address: str) -> tuple[str, str, str]:
    parts = address.split("/", 2)
    if len(parts) != 3 or not all(parts):
        raise click.BadParameter(f"{address!r} is not ACCOUNT/TYPE/KEY (e.g. se-main/reminders/anna-dentist)")
    return parts[0], parts[1], parts[2]


@state.command("list")
@state_dir
def state_list(directory: str) -> None:
    """List the recorded items as ACCOUNT/TYPE/KEY  ID.

    Example: reconciler state list --dir examples/intime
    """
    with reported():
        current = State.load(_state_path(directory))
    for account, types in sorted(current.data["accounts"].items()):
        for type_, records in sorted(types.items()):
            for key, record in sorted(records.items()):
                click.echo(f"{account}/{type_}/{key}\t{record.get('id')}")
    for intent in current.intents:
        click.echo(
            f"{intent['account']}/{intent['type']}/{intent['key']}\t(uncertain: {intent.get('action')} "
            f"started {intent.get('at')} without a recorded result)"
        )


@state.command("show")
@click.argument("address")
@state_dir
def state_show(address: str, directory: str) -> None:
    """Show one recorded item as JSON.

    Example: reconciler state show se-main/reminders/anna-dentist-dec
    """
    account, type_, key = _address(address)
    with reported():
        record = State.load(_state_path(directory)).account(account).get(type_, {}).get(key)
        if record is None:
            raise ReconcilerError(f"{address} is not in the state file (see `reconciler state list`)")
    click.echo(json.dumps(record, indent=2, ensure_ascii=False))


@state.command("rm")
@click.argument("address")
@state_dir
@click.option("--lock-timeout", type=float, default=0.0)
def state_rm(address: str, directory: str, lock_timeout: float) -> None:
    """Forget one item (the live item is not touched).

    Example: reconciler state rm se-main/contacts/+46701234567
    """
    account, type_, key = _address(address)
    with reported():
        path = _state_path(directory)
        with StateLock(path, "state rm", lock_timeout).held():
            current = State.load(path)
            recorded = key in current.account(account).get(type_, {})
            # An uncertain create (an intent without a result) is removed too, as the plan advises.
            where = (account, type_, key)
            uncertain = any((i["account"], i["type"], i["key"]) == where for i in current.intents)
            if not (recorded or uncertain):
                raise ReconcilerError(f"{address} is not in the state file (see `reconciler state list`)")
            if recorded:
                current.forget(account, type_, key)
            current.resolve(account, type_, key)
            current.save()
    click.echo(f"Removed {address} from the state.")


@state.command("mv")
@click.argument("source")
@click.argument("destination")
@state_dir
@click.option("--lock-timeout", type=float, default=0.0)
def state_mv(source: str, destination: str, directory: str, lock_timeout: float) -> None:
    """Rename a recorded item (e.g. after renaming a reminder's key in the YAML).

    Example: reconciler state mv se-main/reminders/old-name se-main/reminders/new-name
    """
    src, dst = _address(source), _address(destination)
    if src[:2] != dst[:2]:
        raise click.BadParameter("source and destination must have the same ACCOUNT/TYPE")
    with reported():
        path = _state_path(directory)
        with StateLock(path, "state mv", lock_timeout).held():
            current = State.load(path)
            records = current.account(src[0]).get(src[1], {})
            if src[2] not in records:
                raise ReconcilerError(f"{source} is not in the state file (see `reconciler state list`)")
            if dst[2] in records:
                raise ReconcilerError(f"{destination} is already in the state file; remove it first")
            record = records[src[2]]
            current.record(dst[0], dst[1], dst[2], record.get("id"), record.get("attrs") or {})
            current.forget(*src)
            current.save()
    click.echo(f"Moved {source} to {destination}.")


@state.command("unlock")
@state_dir
def state_unlock(directory: str) -> None:
    """Remove a lock left behind by a killed run.

    Example: reconciler state unlock
    """
    with reported():
        info = unlock(_state_path(directory))
    who = ", ".join(f"{k}={v}" for k, v in (info or {}).items() if k != "acquired") or "no holder recorded"
    click.echo(f"Unlocked ({who}).")


@state.command("import")
@click.argument("address")
@click.argument("ident", metavar="ID")
@state_dir
@click.option("--lock-timeout", type=float, default=0.0)
def state_import(address: str, ident: str, directory: str, lock_timeout: float) -> None:
    """Record that a declared item exists with the provider id ID (adopt it instead of creating it).

    Use it for items the provider cannot list (InTime contacts, campaigns) that exist already, e.g.
    after an interrupted apply left them uncertain.

    Example: reconciler state import uk/campaigns/vip-preview 1042
    """
    account, type_, key = _address(address)
    with reported():
        config = load_repo(directory)
        item = config.desired.get((account, type_), {}).get(key)
        if item is None:
            raise ReconcilerError(f"{address} is not declared in the config; declare it first")
        with StateLock(config.state_path, "state import", lock_timeout).held():
            current = State.load(config.state_path)
            current.record(account, type_, key, ident, dict(item.attrs))
            current.resolve(account, type_, key)
            current.save()
    click.echo(f"Recorded {address} as id {ident}.")
