"""The state file: provider ids and last-applied attributes, journaled after every change.

Layout: ``state.json`` (a compact snapshot, written atomically) plus ``state.json.journal``
(JSON lines appended and fsynced after every successful change, and before a non-idempotent
request as an *intent*). Loading replays the journal over the snapshot, so an interrupted apply
loses nothing; ``save`` compacts the journal into a new snapshot. One writer at a time: an OS file
lock (released by the kernel when its holder dies) guards the pair, and a sidecar records who holds
it (host, pid, command, since) so a waiting run can name the holder.
"""

from __future__ import annotations

import json
import logging
import os
import socket
import threading
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from filelock import FileLock, Timeout

from reconciler.errors import StateError

log = logging.getLogger(__name__)
FORMAT_VERSION = 1
Record = dict[str, Any]  # {"id": str | None, "attrs": {...}}


def _now() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def atomic_write(path: Path, text: str) -> None:
    """Write ``text`` to ``path`` so that readers see the old or the new content, never a mix."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    with open(tmp, "w", encoding="utf-8") as handle:
        handle.write(text)
        handle.flush()
        os.fsync(handle.fileno())
    os.replace(tmp, path)
    dir_fd = os.open(path.parent, os.O_RDONLY)
    try:
        os.fsync(dir_fd)
    finally:
        os.close(dir_fd)


class State:
    """In-memory state with a write-ahead journal. Use :meth:`open` to load it under a lock."""

    def __init__(self, path: Path, data: dict[str, Any] | None = None) -> None:
        self.path = path
        self.journal_path = path.with_name(path.name + ".journal")
        self.data: dict[str, Any] = data or {
            "format_version": FORMAT_VERSION,
            "lineage": str(uuid.uuid4()),
            "serial": 0,
            "accounts": {},
            "intents": [],
        }
        self.data.setdefault("intents", [])
        self._journal: Any = None
        self._lock = threading.Lock()  # the applier journals from several threads with --parallelism

    # -- loading ------------------------------------------------------------------------------------
    @classmethod
    def load(cls, path: Path) -> State:
        """Read the snapshot and replay the journal; a missing file is an empty state."""
        data = None
        if path.exists():
            try:
                data = json.loads(path.read_text(encoding="utf-8"))
            except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
                raise StateError(
                    f"{path}: the state file is unreadable ({exc}); restore it from a backup "
                    "or move it away to start from an empty state"
                ) from None
            if not isinstance(data, dict) or data.get("format_version") != FORMAT_VERSION:
                raise StateError(f"{path}: not a reconciler state file of format_version {FORMAT_VERSION}")
        state = cls(path, data)
        state._replay()
        return state

    def _replay(self) -> None:
        if not self.journal_path.exists():
            return
        with open(self.journal_path, encoding="utf-8") as handle:
            for number, line in enumerate(handle, 1):
                line = line.strip()
                if not line:
                    continue
                try:
                    entry = json.loads(line)
                except json.JSONDecodeError:
                    # A torn last line from a killed run: everything before it is intact.
                    if handle.readline() == "":
                        break
                    raise StateError(
                        f"{self.journal_path}:{number}: corrupt journal entry; "
                        "restore the state from a backup"
                    ) from None
                self._apply_entry(entry)

    def _apply_entry(self, entry: dict[str, Any]) -> None:
        op = entry.get("op")
        if op == "record":
            self.records(entry["account"], entry["type"])[entry["key"]] = {
                "id": entry.get("id"),
                "attrs": entry.get("attrs") or {},
            }
        elif op == "forget":
            self.records(entry["account"], entry["type"]).pop(entry["key"], None)
        elif op == "intent":
            self.data["intents"].append(
                {k: entry[k] for k in ("account", "type", "key", "action", "at") if k in entry}
            )
        elif op == "resolve":
            self.data["intents"] = [i for i in self.data["intents"] if not _same_item(i, entry)]
        self.data["serial"] = self.data.get("serial", 0) + 1

    # -- reading ------------------------------------------------------------------------------------
    def records(self, account: str, type_: str) -> dict[str, Record]:
        """The records of one account and type (a live view: mutate only through record/forget)."""
        accounts: dict[str, dict[str, dict[str, Record]]] = self.data["accounts"]
        return accounts.setdefault(account, {}).setdefault(type_, {})

    def account(self, account: str) -> dict[str, dict[str, Record]]:
        accounts: dict[str, dict[str, dict[str, Record]]] = self.data["accounts"]
        return accounts.get(account, {})

    @property
    def intents(self) -> list[dict[str, Any]]:
        return list(self.data["intents"])

    @property
    def lineage(self) -> str:
        return str(self.data["lineage"])

    # -- writing ------------------------------------------------------------------------------------
    def _append(self, entry: dict[str, Any]) -> None:
        with self._lock:
            self._append_locked(entry)

    def _append_locked(self, entry: dict[str, Any]) -> None:
        entry["at"] = entry.get("at") or _now()
        if self._journal is None:
            self.journal_path.parent.mkdir(parents=True, exist_ok=True)
            self._journal = open(self.journal_path, "a", encoding="utf-8")  # noqa: SIM115 - closed in save()
        self._journal.write(json.dumps(entry, ensure_ascii=False, sort_keys=True) + "\n")
        self._journal.flush()
        os.fsync(self._journal.fileno())
        self._apply_entry(entry)

    def record(self, account: str, type_: str, key: str, ident: str | None, attrs: dict[str, Any]) -> None:
        """Remember the provider id and last applied attributes of one item (journaled at once)."""
        self._append(
            {"op": "record", "account": account, "type": type_, "key": key, "id": ident, "attrs": attrs}
        )

    def forget(self, account: str, type_: str, key: str) -> None:
        self._append({"op": "forget", "account": account, "type": type_, "key": key})

    def intend(self, account: str, type_: str, key: str, action: str) -> None:
        """Record, before a non-idempotent request, that it is about to be sent."""
        self._append({"op": "intent", "account": account, "type": type_, "key": key, "action": action})

    def resolve(self, account: str, type_: str, key: str) -> None:
        """The intended request's outcome is known (recorded, or known not to have happened)."""
        self._append({"op": "resolve", "account": account, "type": type_, "key": key})

    def save(self) -> None:
        """Compact: write the snapshot atomically, then drop the journal it contains."""
        if self._journal is not None:
            self._journal.close()
            self._journal = None
        if not self.journal_path.exists() and self.path.exists():
            return
        atomic_write(self.path, json.dumps(self.data, indent=2, sort_keys=True, ensure_ascii=False) + "\n")
        if self.journal_path.exists():
            self.journal_path.unlink()

    def close(self) -> None:
        if self._journal is not None:
            self._journal.close()
            self._journal = None


def _same_item(a: dict[str, Any], b: dict[str, Any]) -> bool:
    return all(a.get(k) == b.get(k) for k in ("account", "type", "key"))


class StateLock:
    """One writer per state file, with a sidecar naming the holder."""

    def __init__(self, path: Path, command: str = "", timeout: float = 0.0) -> None:
        self.path = path
        self.lock_path = path.with_name(path.name + ".lock")
        self.info_path = path.with_name(path.name + ".lock.json")
        self.command = command
        self.timeout = timeout
        self._lock = FileLock(str(self.lock_path), timeout=timeout, thread_local=False)

    def holder(self) -> dict[str, Any] | None:
        try:
            info: dict[str, Any] = json.loads(self.info_path.read_text(encoding="utf-8"))
            return info
        except (OSError, json.JSONDecodeError):
            return None

    def _acquire(self, timeout: float) -> bool:
        try:
            self._lock.acquire(timeout=timeout)
        except Timeout:
            return False
        return True

    def _who(self) -> str:
        info = self.holder() or {}
        return (
            ", ".join(f"{k}={info[k]}" for k in ("host", "pid", "command", "since") if k in info) or "unknown"
        )

    @contextmanager
    def held(self) -> Iterator[None]:
        """Hold the lock for the block; the kernel releases it if this process dies."""
        self.path.parent.mkdir(parents=True, exist_ok=True)
        if not self._acquire(0):
            if self.timeout > 0:
                log.warning(
                    "state: %s is locked by another run (%s); waiting up to %.0fs",
                    self.path,
                    self._who(),
                    self.timeout,
                )
            if not self._acquire(self.timeout):
                raise StateError(
                    f"{self.path}: locked by another run ({self._who()}); waited {self.timeout:.0f}s. "
                    "Wait for it to finish, or if it was killed run `reconciler state unlock`"
                )
        try:
            atomic_write(
                self.info_path,
                json.dumps(
                    {
                        "host": socket.gethostname(),
                        "pid": os.getpid(),
                        "command": self.command,
                        "since": _now(),
                        "acquired": time.time(),
                    }
                ),
            )
            yield
        finally:
            try:
                self.info_path.unlink()
            except OSError:
                pass
            self._lock.release()


def unlock(path: Path) -> dict[str, Any] | None:
    """Remove a lock left by a killed run (the sidecar and the lock file); return who held it."""
    lock = StateLock(path)
    info = lock.holder()
    for leftover in (lock.info_path, lock.lock_path):
        try:
            leftover.unlink()
        except OSError:
            pass
    return info
