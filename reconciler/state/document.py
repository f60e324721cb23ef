"""The state document in memory: provider ids and last applied attributes, written through a journal.

Every change is one *entry* (``record``, ``forget``, ``intent``, ``resolve``) handed to the backend's
:class:`Journal` before it is applied in memory; the journal makes it durable (an fsynced line in the
file backend, one transaction in PostgreSQL), so an interrupted run loses nothing. Every entry bumps
the serial of its account (``serials``) and the document's ``serial``; a saved plan records the
serials of its accounts and is refused when they moved.

Item records are opaque JSON objects (``{"id": ..., "attrs": {...}}`` plus any other field a feature
stores): backends copy them whole. Recording an item also settles its open intent, in the same entry,
so a crash can never leave a recorded result beside a still-open intent for it.
"""

from __future__ import annotations

import threading
import uuid
from collections.abc import Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Protocol

from reconciler.errors import StateError

FORMAT_VERSION = 1
Record = dict[str, Any]  # {"id": str | None, "attrs": {...}, ...}
PROTECT = "protect"  # a record field: true while the item is protected (see reconciler.protect)
Entry = dict[str, Any]
ITEM_FIELDS = ("account", "type", "key")
_ENTRY_FIELDS = frozenset({"op", "at", *ITEM_FIELDS})


def now_text() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def empty_document() -> dict[str, Any]:
    return {
        "format_version": FORMAT_VERSION,
        "lineage": str(uuid.uuid4()),
        "serial": 0,
        "serials": {},
        "accounts": {},
        "intents": [],
    }


class Journal(Protocol):
    """Where a backend makes the entries of one :class:`State` durable."""

    where: str  # names the state in messages ("state.json", "PostgreSQL schema reconciler"), no secrets

    def write(self, entry: Entry, serial: int) -> None:
        """Make ``entry`` durable before returning; ``serial`` is its account's serial after it."""

    def compact(self, state: State) -> None:
        """Called by :meth:`State.save`: fold what was written into the stored snapshot."""

    def close(self) -> None: ...


class State:
    """In-memory state with a write-ahead journal. Backends load it; see :mod:`reconciler.state`."""

    def __init__(
        self, path: Path | None = None, data: dict[str, Any] | None = None, *, journal: Journal | None = None
    ) -> None:
        self.data: dict[str, Any] = data or empty_document()
        for name, default in (("intents", []), ("serials", {}), ("serial", 0), ("accounts", {})):
            self.data.setdefault(name, default)
        self.data.setdefault("lineage", str(uuid.uuid4()))  # a hand-made file without one (found by fuzzing)
        if journal is None and path is not None:
            from reconciler.state.file import FileJournal

            journal = FileJournal(path, self.data["lineage"])
        self.journal = journal
        # Whether the backend holds this state already (a lineage to hold saved plans to).
        self.persisted = path is not None and path.exists()
        self._lock = threading.Lock()  # the applier journals from several threads with --parallelism

    @classmethod
    def load(cls, path: Path) -> State:
        """The file backend's state at ``path`` (snapshot plus journal); a missing file is empty."""
        from reconciler.state.file import load_file

        return load_file(path)

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

    def serial(self, account: str) -> int:
        """How many writes the account has had (0: never written)."""
        return int(self.data["serials"].get(account, 0))

    def serials(self, accounts: list[str] | tuple[str, ...]) -> dict[str, int]:
        return {name: self.serial(name) for name in accounts}

    # -- writing ------------------------------------------------------------------------------------
    def _append(self, entry: Entry) -> None:
        entry["at"] = entry.get("at") or now_text()
        with self._lock:
            serial = self.serial(entry["account"]) + 1
            if self.journal is not None:
                self.journal.write(entry, serial)
            self.apply_entry(entry)

    def apply_entry(self, entry: Entry) -> None:
        """Apply one journaled entry to the document (also used to replay a journal)."""
        try:
            account, type_, key = (entry[k] for k in ITEM_FIELDS)
        except KeyError:
            raise StateError(f"a journal entry lacks account, type or key: {sorted(entry)}") from None
        if not all(isinstance(part, str) for part in (account, type_, key)):
            raise StateError("a journal entry's account, type and key must be strings")
        if not isinstance(entry.get("attrs") or {}, dict):
            raise StateError("a journal entry's attrs must be an object")
        op = entry.get("op")
        if op == "record":
            self.records(account, type_)[key] = record_of(entry)
            self._drop_intents(entry)
        elif op == "forget":
            self.records(account, type_).pop(key, None)
        elif op == "intent":
            self.data["intents"].append({k: entry[k] for k in (*ITEM_FIELDS, "action", "at") if k in entry})
        elif op == "resolve":
            self._drop_intents(entry)
        else:
            raise StateError(f"a journal entry has the unknown op {op!r}")
        self.data["serials"][account] = self.serial(account) + 1
        self.data["serial"] = int(self.data.get("serial", 0)) + 1

    def _drop_intents(self, item: Mapping[str, Any]) -> None:
        self.data["intents"] = [i for i in self.data["intents"] if not same_item(i, item)]

    def has_intent(self, account: str, type_: str, key: str) -> bool:
        where = {"account": account, "type": type_, "key": key}
        return any(same_item(i, where) for i in self.data["intents"])

    def record(
        self, account: str, type_: str, key: str, ident: str | None, attrs: dict[str, Any], **extra: Any
    ) -> None:
        """Remember the provider id and last applied attributes of one item (journaled at once).

        ``extra`` fields are kept in the record as they are; an open intent for the item is settled.
        A recorded protection is kept unless ``extra`` says otherwise, so re-recording an applied
        change never drops it.
        """
        old = self.account(account).get(type_, {}).get(key) or {}
        if PROTECT in old and PROTECT not in extra:
            extra[PROTECT] = old[PROTECT]
        entry = {"op": "record", "account": account, "type": type_, "key": key, "id": ident, "attrs": attrs}
        self._append({**extra, **entry})

    def is_protected(self, account: str, type_: str, key: str) -> bool:
        """Whether the item's record carries ``protect: true``."""
        return bool(self.account(account).get(type_, {}).get(key, {}).get(PROTECT))

    def protect(self, account: str, type_: str, key: str, ident: str | None = None) -> None:
        """Record the item as protected; an item without a record gets one holding only its id."""
        old = self.account(account).get(type_, {}).get(key)
        if old is None:
            self.record(account, type_, key, ident, {}, **{PROTECT: True})
        elif not old.get(PROTECT):
            extra = {k: v for k, v in old.items() if k not in ("id", "attrs")}
            self.record(
                account, type_, key, old.get("id"), old.get("attrs") or {}, **{**extra, PROTECT: True}
            )

    def unprotect(self, account: str, type_: str, key: str) -> None:
        """Drop the item's protection, keeping the rest of its record."""
        old = self.account(account).get(type_, {}).get(key)
        if old is None or not old.get(PROTECT):
            return
        rest = {k: v for k, v in old.items() if k not in ("id", "attrs", PROTECT)}
        entry = {"op": "record", "account": account, "type": type_, "key": key}
        self._append({**rest, **entry, "id": old.get("id"), "attrs": old.get("attrs") or {}})

    def forget(self, account: str, type_: str, key: str) -> None:
        self._append({"op": "forget", "account": account, "type": type_, "key": key})

    def intend(self, account: str, type_: str, key: str, action: str) -> None:
        """Record, before a non-idempotent request, that it is about to be sent."""
        self._append({"op": "intent", "account": account, "type": type_, "key": key, "action": action})

    def resolve(self, account: str, type_: str, key: str) -> None:
        """The intended request's outcome is known (recorded, or known not to have happened)."""
        if self.has_intent(account, type_, key):
            self._append({"op": "resolve", "account": account, "type": type_, "key": key})

    def save(self) -> None:
        """Fold the journal into the stored snapshot (the file backend compacts; PostgreSQL has it)."""
        if self.journal is not None:
            self.journal.compact(self)

    def close(self) -> None:
        if self.journal is not None:
            self.journal.close()


def record_of(entry: Mapping[str, Any]) -> Record:
    """The item record an entry carries: every field but the entry's own."""
    record = {k: v for k, v in entry.items() if k not in _ENTRY_FIELDS}
    record.setdefault("id", None)
    record["attrs"] = record.get("attrs") or {}
    return record


def same_item(a: Mapping[str, Any], b: Mapping[str, Any]) -> bool:
    return all(a.get(k) == b.get(k) for k in ITEM_FIELDS)


def check_document(data: Any, where: str) -> dict[str, Any]:
    """``data`` as a state document, or a StateError naming ``where`` and what is wrong."""
    if not isinstance(data, dict) or data.get("format_version") != FORMAT_VERSION:
        raise StateError(f"{where}: not a reconciler state of format_version {FORMAT_VERSION}")
    accounts = data.get("accounts", {})
    if not isinstance(accounts, dict) or not all(
        isinstance(types, dict)
        and all(
            isinstance(records, dict) and all(isinstance(r, dict) for r in records.values())
            for records in types.values()
        )
        for types in accounts.values()
    ):
        raise StateError(f"{where}: 'accounts' must map account -> type -> key -> record")
    for account, types in accounts.items():
        for type_, records in types.items():
            for key, record in records.items():
                ident, attrs = record.get("id"), record.get("attrs", {})
                if not (ident is None or isinstance(ident, str | int)) or isinstance(ident, bool):
                    raise StateError(f"{where}: {account}/{type_}/{key}: 'id' must be a string or null")
                if not isinstance(attrs, dict):
                    raise StateError(f"{where}: {account}/{type_}/{key}: 'attrs' must be an object")
    intents = data.get("intents", [])
    if not isinstance(intents, list) or not all(
        isinstance(i, dict) and all(isinstance(i.get(k), str) for k in ITEM_FIELDS) for i in intents
    ):
        raise StateError(f"{where}: 'intents' must be a list of {{account, type, key, action}}")
    serials = data.get("serials", {})
    if not isinstance(serials, dict) or not all(
        isinstance(v, int) and not isinstance(v, bool) and v >= 0 for v in serials.values()
    ):
        raise StateError(f"{where}: 'serials' must map account -> a count of writes")
    if not isinstance(data.get("lineage", ""), str):
        raise StateError(f"{where}: 'lineage' must be a string")
    return data
