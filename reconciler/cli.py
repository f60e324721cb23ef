"""The command line: parse, call the library, render, exit. The only module that prints.

Exit codes (all commands): 0 success and nothing to change / no drift; 1 error (invalid config,
API error, refused by safety limits); 2 changes present (`plan`) or drift found (`drift`).
"""

from __future__ import annotations

import json
import logging
import signal
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, NoReturn

import click

from reconciler import __version__
from reconciler.apply import ApplyResult, apply_plan
from reconciler.changes import Action, Change
from reconciler.config.load import load_config
from reconciler.config.types import Config
from reconciler.engine import Run
from reconciler.errors import ConfigError, ReconcilerError, StalePlan, UnsafePlan
from reconciler.plan import Plan, checksum
from reconciler.render import render
from reconciler.safety import violations
from reconciler.secrets import redact
from reconciler.state import State, StateLock, atomic_write, unlock

log = logging.getLogger("reconciler")
FORMATS = ("text", "json", "markdown")
DRIFT_FORMATS = ("text", "json", "markdown", "junit", "html")


class _Redacting(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        record.msg = redact(record.getMessage())
        record.args = None
        return True


def _setup_logging(verbose: int) -> None:
    handler = logging.StreamHandler(sys.stderr)
    handler.addFilter(_Redacting())
    handler.setFormatter(logging.Formatter("%(levelname)s %(name)s: %(message)s"))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(logging.WARNING if verbose == 0 else logging.INFO if verbose == 1 else logging.DEBUG)


def _fail(message: str) -> NoReturn:
    click.echo(f"Error: {redact(message)}", err=True)
    sys.exit(1)


@contextmanager
def _errors() -> Iterator[None]:
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
        _fail(str(exc))


def _tty(stream: Any) -> bool:
    return bool(getattr(stream, "isatty", lambda: False)())


def _status(message: str) -> None:
    """Progress for humans: on a terminal only, on stderr."""
    if _tty(sys.stderr):
        click.echo(click.style(message, dim=True), err=True)


def _load(directory: str) -> Config:
    config = load_config(Path(directory))
    for warning in config.warnings:
        click.echo(f"Warning: {warning}", err=True)
    return config


@click.group(context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100})
@click.version_option(__version__, prog_name="reconciler")
@click.option("-v", "--verbose", count=True, help="More logging on stderr (-vv for debug).")
def main(verbose: int) -> None:
    """Configuration as code for SMS messaging accounts.

    Keep groups, contacts, blocklists, phone lists, reminders and campaigns as YAML; `plan` shows the
    minimal change set against the live accounts and `apply` makes it so.

    Example: reconciler plan examples/quickstart
    """
    _setup_logging(verbose)


# -- validate ----------------------------------------------------------------------------------------
@main.command()
@click.argument("directory", default=".", type=click.Path(file_okay=False))
def validate(directory: str) -> None:
    """Check the config repository: files, schema, references, numbers. No network.

    Example: reconciler validate examples/quickstart
    """
    with _errors():
        config = _load(directory)
    total = sum(len(items) for items in config.desired.values())
    click.echo(f"Valid: {len(config.files)} file(s), {len(config.accounts)} account(s), {total} resource(s).")


# -- plan --------------------------------------------------------------------------------------------
def _scope(accounts: tuple[str, ...], types: tuple[str, ...]) -> dict[str, Any]:
    return {"accounts": accounts, "types": frozenset(types) if types else None}


def _make_plan(
    config: Config, state: State, accounts: tuple[str, ...], types: tuple[str, ...]
) -> tuple[Plan, Run, dict[tuple[str, str], int]]:
    """Plan; the caller closes the returned Run (it is closed here when planning fails)."""
    run = Run(config, state, **_scope(accounts, types))
    try:
        plan = run.plan(_status)
    except BaseException:
        run.close()
        raise
    return plan, run, run.live_counts


def _read_only_plan(directory: str, accounts: tuple[str, ...], types: tuple[str, ...]) -> tuple[Config, Plan]:
    """Load the config and plan against the live accounts without taking the state lock."""
    config = _load(directory)
    state = State.load(config.state_path)
    try:
        result, run, _ = _make_plan(config, state, accounts, types)
        run.close()
    finally:
        state.close()
    return config, result


account_option = click.option(
    "--account", "accounts", multiple=True, metavar="A", help="Only this account (repeatable)."
)
type_option = click.option(
    "--type",
    "types",
    multiple=True,
    metavar="T",
    help="Only this resource type (repeatable).",
    type=click.Choice(["groups", "contacts", "blocklist", "phone_lists", "reminders", "campaigns"]),
)


@main.command()
@click.argument("directory", default=".", type=click.Path(file_okay=False))
@click.option(
    "--out", "out", type=click.Path(dir_okay=False), help="Save the plan for `reconciler apply PLAN`."
)
@click.option("--format", "fmt", type=click.Choice(FORMATS), default="text", show_default=True)
@account_option
@type_option
def plan(
    directory: str, out: str | None, fmt: str, accounts: tuple[str, ...], types: tuple[str, ...]
) -> None:
    """Show the changes that would make the live accounts match the config.

    Exits 0 when there is nothing to change, 2 when there are changes, 1 on errors.

    Example: reconciler plan . --format json --out plan.json
    """
    with _errors():
        config, result = _read_only_plan(directory, accounts, types)
        if out:
            _save_plan(result, Path(out), config)
    click.echo(render(result, fmt, color=fmt == "text" and _tty(sys.stdout)), nl=False)
    if out:
        click.echo(f"Saved the plan to {out}; apply it with: reconciler apply {out}", err=True)
    sys.exit(1 if result.errors else 2 if result.has_changes else 0)


def _save_plan(result: Plan, path: Path, config: Config) -> None:
    data = result.to_json()
    data.setdefault("meta", {})["root"] = str(config.root)
    data["checksum"] = checksum(data)
    atomic_write(path, json.dumps(data, indent=2, ensure_ascii=False) + "\n")


# -- apply -------------------------------------------------------------------------------------------
@main.command()
@click.argument("target", default=".", type=click.Path(exists=True))
@click.option("--auto-approve", is_flag=True, help="Apply without asking (for CI).")
@click.option("--force", is_flag=True, help="Skip unsupported changes and override the safety limits.")
@click.option(
    "--continue-on-error", is_flag=True, help="Keep applying changes that don't depend on a failed one."
)
@click.option(
    "--parallelism",
    type=click.IntRange(1, 64),
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
    help="How long to wait for another run holding the state lock.",
)
@click.option(
    "--config", "config_dir", type=click.Path(file_okay=False), help="Config directory of a saved plan."
)
@account_option
@type_option
def apply(
    target: str,
    auto_approve: bool,
    force: bool,
    continue_on_error: bool,
    parallelism: int,
    lock_timeout: float,
    config_dir: str | None,
    accounts: tuple[str, ...],
    types: tuple[str, ...],
) -> None:
    """Plan, confirm and apply; or apply a saved plan exactly (refused if stale).

    Exits 0 when everything applied, 1 otherwise.

    Example: reconciler apply . --auto-approve
    """
    saved: dict[str, Any] | None = None
    with _errors():
        if Path(target).is_file():
            saved = _read_saved_plan(Path(target))
            config = _load(config_dir or saved.get("meta", {}).get("root") or ".")
            if saved.get("meta", {}).get("config") != config.fingerprint:
                raise StalePlan(
                    f"{target}: the config changed since the plan was made; run `reconciler plan --out` again"
                )
            accounts = tuple(saved["meta"].get("accounts") or ())
            types = tuple(saved["meta"].get("types") or ())
        else:
            config = _load(target)
        lock = StateLock(config.state_path, command=" ".join(sys.argv[:3]), timeout=lock_timeout)
        with lock.held():
            state = State.load(config.state_path)
            try:
                ok = _apply_locked(
                    config, state, saved, accounts, types, auto_approve, force, continue_on_error, parallelism
                )
            finally:
                state.save()
    sys.exit(0 if ok else 1)


def _read_saved_plan(path: Path) -> dict[str, Any]:
    try:
        data: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ReconcilerError(
            f"{path}: not a readable plan file ({exc}); make one with `reconciler plan --out`"
        ) from None
    if not isinstance(data, dict) or data.get("format_version") != 1 or "checksum" not in data:
        raise ReconcilerError(
            f"{path}: not a saved plan of format_version 1; make one with `reconciler plan --out`"
        )
    if checksum(data) != data["checksum"]:
        raise StalePlan(
            f"{path}: the plan file was modified after it was made (checksum mismatch); "
            "refusing it. Run `reconciler plan --out` again"
        )
    return data


def _apply_locked(
    config: Config,
    state: State,
    saved: dict[str, Any] | None,
    accounts: tuple[str, ...],
    types: tuple[str, ...],
    auto_approve: bool,
    force: bool,
    continue_on_error: bool,
    parallelism: int = 1,
) -> bool:
    result, run, live_counts = _make_plan(config, state, accounts, types)
    try:
        if saved is not None:
            _check_fresh(saved, result)
            auto_approve = True  # the saved plan was reviewed; applying it is the approval
        click.echo(render(result, "text", color=_tty(sys.stdout)), nl=False)
        if result.errors:
            raise UnsafePlan("the plan has errors (above); fix them and plan again")
        if not result.has_changes:
            if result.meta.get("adopt"):
                apply_plan(result, run.providers, state)
            return True
        unsupported = [c for c in result.changes if c.action is Action.UNSUPPORTED]
        if unsupported and not force:
            raise UnsafePlan(
                f"the plan has {len(unsupported)} unsupported change(s) that cannot be applied; "
                "change the config so they disappear, or rerun with --force to skip them"
            )
        problems = violations(result, live_counts, config.safety)
        if problems and not force:
            raise UnsafePlan("; ".join(problems))
        if not result.applicable:
            click.echo("Nothing that can be applied.")
            return True
        if not auto_approve and not _confirm():
            click.echo("Apply cancelled; nothing was changed.", err=True)
            return False
        outcome = apply_plan(
            result,
            run.providers,
            state,
            continue_on_error=continue_on_error,
            progress=_progress(len(result.applicable)),
            parallelism=parallelism,
        )
        _report(outcome)
        return outcome.ok
    finally:
        run.close()


def _check_fresh(saved: dict[str, Any], fresh: Plan) -> None:
    was = saved.get("meta", {}).get("live", {})
    now = fresh.meta.get("live", {})
    changed = sorted(k for k in set(was) | set(now) if was.get(k) != now.get(k))
    if changed:
        raise StalePlan(
            f"the live state changed since the plan was made ({', '.join(changed)}); "
            "run `reconciler plan --out` again and review it"
        )
    want = [_comparable(c) for c in saved.get("changes", ())]
    have = [_comparable(c.to_json()) for c in fresh.changes]
    if want != have:
        raise StalePlan(
            "the saved plan no longer matches what the config and the live state call for; "
            "run `reconciler plan --out` again and review it"
        )


def _comparable(change: dict[str, Any]) -> str:
    return json.dumps({k: v for k, v in change.items() if k != "extra"}, sort_keys=True)


def _confirm() -> bool:
    if not sys.stdin or not _tty(sys.stdin):
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


def _progress(total: int) -> Any:
    done = {"n": 0}
    lock = threading.Lock()

    def tell(change: Change, what: str) -> None:
        with lock:
            done["n"] += 1
            if _tty(sys.stderr):
                click.echo(f"[{done['n']}/{total}] {what}: {change.action.value} {change.address}", err=True)

    return tell


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
    for name, justify in (("account", "left"), ("type", "left"), ("applied", "right"),
                          ("failed", "right"), ("skipped", "right")):
        table.add_column(name, justify=justify)  # type: ignore[arg-type]
    for (account, type_), (applied, failed, skipped) in sorted(counts.items()):
        table.add_row(account, type_, str(applied), str(failed), str(skipped))
    Console(file=sys.stderr, width=100, color_system="auto" if _tty(sys.stderr) else None).print(table)


def _report(outcome: ApplyResult) -> None:
    for warning in outcome.warnings:
        click.echo(f"Warning: {warning}", err=True)
    if not outcome.ok:  # what did happen, change by change, beside what did not
        for change in outcome.applied:
            click.echo(f"Applied: {change.action.value} {change.address}", err=True)
    for change, error in outcome.failed:
        click.echo(f"Failed: {change.action.value} {change.address}: {error}", err=True)
    for change, why in outcome.skipped:
        click.echo(f"Skipped: {change.action.value} {change.address}: {why}", err=True)
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


# -- drift -------------------------------------------------------------------------------------------
@main.command()
@click.argument("directory", default=".", type=click.Path(file_okay=False))
@click.option("--format", "fmt", type=click.Choice(DRIFT_FORMATS), default="text", show_default=True)
@click.option(
    "--output", type=click.Path(dir_okay=False), help="Write the report to this file instead of stdout."
)
@account_option
@type_option
def drift(
    directory: str, fmt: str, output: str | None, accounts: tuple[str, ...], types: tuple[str, ...]
) -> None:
    """Audit the live accounts against the config (for scheduled CI jobs).

    Exits 0 when there is no drift, 2 when there is, 1 on errors.

    Example: reconciler drift . --format junit --output drift.xml
    """
    with _errors():
        _, result = _read_only_plan(directory, accounts, types)
    text = render(result, fmt, color=fmt == "text" and not output and _tty(sys.stdout), title="Drift report")
    if output:
        atomic_write(Path(output), text if text.endswith("\n") else text + "\n")
        click.echo(f"Wrote the drift report to {output}.", err=True)
    else:
        click.echo(text, nl=not text.endswith("\n"))
    sys.exit(1 if result.errors else 2 if result.has_changes else 0)


# -- sandbox -----------------------------------------------------------------------------------------
@main.command()
@click.option(
    "--data",
    type=click.Path(dir_okay=False),
    default=".reconciler/sandbox.db",
    show_default=True,
    help="SQLite file the emulators persist to (one file per provider beside it).",
)
@click.option(
    "--port-base",
    type=click.IntRange(0, 65000),
    default=8600,
    show_default=True,
    help="Ports: intouch base+1, intime base+2, smsconnector base+3.",
)
@click.option("--faults", default=None, metavar="SPEC", help="Inject faults, e.g. 'seed=7,throttle:every=5'.")
def sandbox(data: str, port_base: int, faults: str | None) -> None:
    """Run the local emulators of every provider until interrupted.

    Example: reconciler sandbox --port-base 8600
    """
    from reconciler import sandbox as sandbox_mod
    from reconciler.emulator import FaultSpecError

    try:
        running = sandbox_mod.start(Path(data), port_base, faults)
    except FaultSpecError as exc:
        _fail(str(exc))
    except OSError as exc:
        _fail(
            f"cannot start the sandbox on ports {port_base + 1}-{port_base + 3}: {exc.strerror}; "
            "choose other ports with --port-base"
        )
    for item in running:
        creds = " ".join(f"{k}={v}" for k, v in item.credentials.items())
        click.echo(f"{item.provider:13} {item.url}  ({creds})")
    click.echo("Sandbox running; press Ctrl-C to stop.", err=True)
    stopped = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stopped.set())
    try:
        stopped.wait()
    except KeyboardInterrupt:
        pass
    finally:
        sandbox_mod.stop(running)
        click.echo("Sandbox stopped.", err=True)


# -- state -------------------------------------------------------------------------------------------
@main.group()
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
    return _load(directory).state_path


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
    with _errors():
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
    with _errors():
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
    with _errors():
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
    with _errors():
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
    with _errors():
        info = unlock(_state_path(directory))
    who = ", ".join(f"{k}={v}" for k, v in (info or {}).items() if k != "acquired") or "no holder recorded"
    click.echo(f"Unlocked ({who}).")


# -- export ------------------------------------------------------------------------------------------
@main.command()
@click.option("--account", "account", required=True, metavar="A", help="The account to export.")
@type_option
@click.option(
    "--dir",
    "out_dir",
    default=".",
    type=click.Path(file_okay=False),
    show_default=True,
    help="Where to write <account>.yaml.",
)
@click.option(
    "--config",
    "config_dir",
    default=".",
    type=click.Path(file_okay=False),
    show_default=True,
    help="Config directory whose reconciler.yaml defines the account.",
)
def export(account: str, types: tuple[str, ...], out_dir: str, config_dir: str) -> None:
    """Write the live state of an account as a resource file (to adopt an existing account).

    Example: reconciler export --account se-main --dir accounts/
    """
    from reconciler.export import export_account

    with _errors():
        config = _load(config_dir)
        target = Path(out_dir) / f"{account}.yaml"
        if target.exists():
            raise ReconcilerError(f"{target} exists; export to another --dir or remove it first")
        state = State.load(config.state_path)
        run = Run(config, state, accounts=(account,), types=frozenset(types) if types else None)
        try:
            live = run.refresh(_status)
            info = run.targets()[0]
            mine = {t: list(items.values()) for (a, t), items in live.items() if a == account}
            text = export_account(account, info.capabilities, mine, state.account(account), types)
        finally:
            run.close()
            state.close()
        atomic_write(target, text)
    click.echo(f"Wrote {target}.")


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
    with _errors():
        config = _load(directory)
        item = config.desired.get((account, type_), {}).get(key)
        if item is None:
            raise ReconcilerError(f"{address} is not declared in the config; declare it first")
        with StateLock(config.state_path, "state import", lock_timeout).held():
            current = State.load(config.state_path)
            current.record(account, type_, key, ident, dict(item.attrs))
            current.resolve(account, type_, key)
            current.save()
    click.echo(f"Recorded {address} as id {ident}.")


if __name__ == "__main__":
    main()
