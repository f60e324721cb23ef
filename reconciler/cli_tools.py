"""`reconciler sandbox` and `reconciler export`: the local emulators, and adopting a live account."""

from __future__ import annotations

import signal
import threading
from pathlib import Path

import click

from reconciler.cli_progress import refresh_progress
from reconciler.cli_support import (
    check_scope,
    common_options,
    config_option,
    fail,
    load_repo,
    reported,
    type_option,
)
from reconciler.engine import Run
from reconciler.errors import ReconcilerError
from reconciler.providers.base import sandbox_ports
from reconciler.state import atomic_write, open_backend


# -- sandbox -----------------------------------------------------------------------------------------
@click.command()
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
    help="Ports: " + ", ".join(f"{name} base+{offset}" for name, offset in sandbox_ports().items()) + ".",
)
@click.option("--faults", default=None, metavar="SPEC", help="Inject faults, e.g. 'seed=7,throttle:every=5'.")
@common_options
def sandbox(data: str, port_base: int, faults: str | None) -> None:
    """Run the local emulators of every provider until interrupted.

    Example: reconciler sandbox --port-base 8600
    """
    from reconciler import sandbox as sandbox_mod
    from reconciler.sandbox.server import FaultSpecError

    try:
        running = sandbox_mod.start(Path(data), port_base, faults)
    except FaultSpecError as exc:
        fail(str(exc))
    except OSError as exc:
        offsets = sandbox_ports().values()
        fail(
            f"cannot start the sandbox on ports {port_base + min(offsets)}-{port_base + max(offsets)}: "
            f"{exc.strerror}; "
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


# -- export ------------------------------------------------------------------------------------------
@click.command()
@click.option("--account", "account", required=True, metavar="A", help="The account to export.")
@type_option
@click.option(
    "-o",
    "--output-dir",
    "--dir",
    "out_dir",
    default=None,
    metavar="DIR",
    type=click.Path(file_okay=False),
    help="Where to write <account>.yaml (default: the config directory); --dir is the older spelling.",
)
@config_option
@common_options
def export(account: str, types: tuple[str, ...], out_dir: str | None, config_dir: str | None) -> None:
    """Write the live state of an account as a resource file (to adopt an existing account).

    What it cannot read back (types the provider cannot list) and the names it invents are
    printed as notes and written as comments at the top of the file.

    Example: reconciler export --account se-main -C accounts/
    """
    from reconciler.export import export_account

    with reported():
        config = load_repo(config_dir or ".")
        check_scope(config, (account,), types)
        target = Path(out_dir or config_dir or ".") / f"{account}.yaml"
        if target.exists():
            raise ReconcilerError(f"{target} exists; export to another --output-dir or remove it first")
        backend = open_backend(config)
        try:
            state = backend.load()
        finally:
            backend.close()
        run = Run(config, state, accounts=(account,), types=frozenset(types) if types else None)
        try:
            with refresh_progress() as notify:
                live = run.refresh(notify)
            info = run.targets()[0]
            mine = {t: list(items.values()) for (a, t), items in live.items() if a == account}
            result = export_account(
                account, info.capabilities, mine, state.account(account), types, provider=info.provider
            )
        finally:
            run.close()
        atomic_write(target, result.text)
    for note in result.notes:
        click.echo(f"Note: {note}", err=True)
    click.echo(f"Wrote {target}.")


# -- schema ------------------------------------------------------------------------------------------
SCHEMA_NAMES = ("reconciler", "resources", "plan", "drift")


@click.command()
@click.argument("name", required=False, type=click.Choice(SCHEMA_NAMES))
@click.option(
    "--write",
    "write_dir",
    metavar="DIR",
    type=click.Path(file_okay=False),
    help="Write every schema as DIR/<name>.schema.json instead of printing one.",
)
@common_options
def schema(name: str | None, write_dir: str | None) -> None:
    """Print a JSON Schema (reconciler.yaml, resource files, plan JSON, drift JSON), or write them all.

    Point an editor at them for completion and checks (see docs/configuration.md, "Editors").

    Example: reconciler schema --write .schemas
    """
    from importlib import resources

    files = resources.files("reconciler.schemas")
    if write_dir is None:
        if name is None:
            raise click.UsageError(f"name a schema ({', '.join(SCHEMA_NAMES)}) or pass --write DIR")
        click.echo(files.joinpath(f"{name}.schema.json").read_text(encoding="utf-8"), nl=False)
        return
    if name is not None:
        raise click.UsageError("give a schema NAME to print, or --write DIR for all of them, not both")
    directory = Path(write_dir)
    with reported():
        try:
            directory.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise ReconcilerError(f"cannot create {directory}: {exc.strerror}") from None
        for each in SCHEMA_NAMES:
            target = directory / f"{each}.schema.json"
            atomic_write(target, files.joinpath(target.name).read_text(encoding="utf-8"))
            click.echo(f"Wrote {target}.")
