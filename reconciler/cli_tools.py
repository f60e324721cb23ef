"""`reconciler sandbox` and `reconciler export`: the local emulators, and adopting a live account."""

from __future__ import annotations

import signal
import threading
from pathlib import Path

import click

from reconciler.cli_support import fail, load_repo, reported, status, type_option
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

    with reported():
        config = load_repo(config_dir)
        target = Path(out_dir) / f"{account}.yaml"
        if target.exists():
            raise ReconcilerError(f"{target} exists; export to another --dir or remove it first")
        backend = open_backend(config)
        try:
            state = backend.load()
        finally:
            backend.close()
        run = Run(config, state, accounts=(account,), types=frozenset(types) if types else None)
        try:
            live = run.refresh(status)
            info = run.targets()[0]
            mine = {t: list(items.values()) for (a, t), items in live.items() if a == account}
            text = export_account(account, info.capabilities, mine, state.account(account), types)
        finally:
            run.close()
        atomic_write(target, text)
    click.echo(f"Wrote {target}.")
