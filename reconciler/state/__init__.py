"""State: what the tool created (provider ids, last applied attributes), behind one small interface.

Two backends implement :class:`StateBackend`: the local file (the default; :mod:`.file`) and
PostgreSQL (:mod:`.postgres`), chosen by ``state.backend`` in ``reconciler.yaml``. Both lock per
account, journal every change at once and count a serial per account (see :mod:`.document`).
"""

from __future__ import annotations

from collections.abc import Iterable
from contextlib import AbstractContextManager
from typing import Any, Protocol

from reconciler.config.types import Config
from reconciler.state.document import FORMAT_VERSION, Record, State
from reconciler.state.file import FileBackend, atomic_write
from reconciler.state.locks import LockStatus

__all__ = [
    "FORMAT_VERSION",
    "FileBackend",
    "Record",
    "State",
    "StateBackend",
    "atomic_write",
    "open_backend",
]


class StateBackend(Protocol):
    """Where state lives. ``where`` names it in messages (never a secret)."""

    name: str
    where: str

    def load(self) -> State:
        """Everything, as a State whose writes go to this backend."""

    def lock(
        self, accounts: Iterable[str], command: str, timeout: float = 0.0
    ) -> AbstractContextManager[None]:
        """Hold the locks of ``accounts`` for a block; a StateError naming a holder after ``timeout``."""

    def lock_status(self, accounts: Iterable[str] | None = None) -> list[LockStatus]: ...

    def break_lock(self, account: str) -> None: ...

    def read_document(self) -> dict[str, Any]: ...

    def write_document(self, data: dict[str, Any], accounts: Iterable[str] | None = None) -> None:
        """Replace ``accounts`` (default: all in ``data``) and the lineage with ``data``'s."""

    def migrate(self) -> list[int]: ...

    def close(self) -> None: ...


def open_backend(config: Config) -> StateBackend:
    """The backend ``config`` names (nothing connects until it is used)."""
    settings = config.state
    if settings.backend == "postgres" and settings.url:
        from reconciler.state.postgres import PostgresBackend

        return PostgresBackend(settings.url, settings.schema)
    return FileBackend(config.state_path)
