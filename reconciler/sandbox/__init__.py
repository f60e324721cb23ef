"""`reconciler sandbox`: every provider emulator on fixed loopback ports, persisted in SQLite.

Which emulators exist, their ports and API paths come from each provider's registration
(``reconciler/providers/<name>/__init__.py``), imported only when the sandbox starts, so an
emulator module never loads the client it emulates.
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from reconciler.sandbox.server import Emulator, Faults, Server

DEFAULT_PORT_BASE = 8600


@dataclass
class Running:
    provider: str
    emulator: Emulator
    server: Server
    api_path: str
    credentials: dict[str, str]

    @property
    def url(self) -> str:
        return self.server.url + self.api_path


def emulator_class(provider: str) -> tuple[type[Emulator], dict[str, str]]:
    """The emulator class of ``provider`` and its sandbox credentials."""
    from reconciler.providers.base import REGISTRY

    module_name, _, class_name = REGISTRY[provider].sandbox.emulator.partition(":")
    module = importlib.import_module(module_name)
    cls: type[Emulator] = getattr(module, class_name)
    credentials: dict[str, str] = dict(module.SANDBOX_CREDENTIALS)
    return cls, credentials


def start(
    data: Path | None,
    port_base: int = DEFAULT_PORT_BASE,
    faults: str | None = None,
    providers: tuple[str, ...] | None = None,
    **options: Any,
) -> list[Running]:
    """Start the emulators of ``providers``; one SQLite file per provider beside ``data``."""
    from reconciler.providers.base import REGISTRY, sandbox_ports

    running: list[Running] = []
    try:
        for provider in providers if providers is not None else sandbox_ports():
            offset, api_path = REGISTRY[provider].sandbox.port_offset, REGISTRY[provider].sandbox.api_path
            cls, credentials = emulator_class(provider)
            db = ":memory:"
            if data is not None:
                data.parent.mkdir(parents=True, exist_ok=True)
                db = str(data.with_name(f"{data.stem}-{provider}{data.suffix or '.db'}"))
            emulator = cls(db, faults=Faults.parse(faults), **options)
            server = Server(emulator, port=port_base + offset if port_base else 0).start()
            running.append(Running(provider, emulator, server, api_path, credentials))
    except BaseException:
        stop(running)
        raise
    return running


def stop(running: list[Running]) -> None:
    for item in running:
        item.server.stop()
        item.emulator.db.close()
