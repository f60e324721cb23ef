"""The file backend (the default): ``state.json`` plus a journal, with one lock per account.

Layout beside ``state.json``: ``state.json.journal`` (JSON lines appended and fsynced after every
change, and before a non-idempotent request as an *intent*); ``state.json.lock``, a short lock held
while one process reads the pair or appends a line; and per account ``state.json.<account>.lock``
(an OS lock held for a whole run, released by the kernel when its holder dies) with a sidecar
``state.json.<account>.lock.json`` naming the holder. Runs for different accounts therefore write the
same journal side by side; ``save`` folds the journal into a new snapshot under the short lock,
re-reading it first so no other run's lines are lost.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import re
import time
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from filelock import FileLock, Timeout

from reconciler.errors import StateError
from reconciler.state.document import Entry, State, check_document, empty_document
from reconciler.state.locks import LockStatus, holder_record, locked_message

log = logging.getLogger(__name__)
IO_TIMEOUT = 60.0  # the short lock is held for one read or one appended line
_SAFE_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,63}")


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


def journal_path(path: Path) -> Path:
    return path.with_name(path.name + ".journal")


@contextmanager
def _io_lock(path: Path) -> Iterator[None]:
    """The short lock around reading the snapshot and journal, or appending to the journal."""
    path.parent.mkdir(parents=True, exist_ok=True)
    lock = FileLock(str(path.with_name(path.name + ".lock")), timeout=IO_TIMEOUT, thread_local=False)
    try:
        lock.acquire()
    except Timeout:
        raise StateError(
            f"{path}: another process kept the state file busy for {IO_TIMEOUT:.0f}s; try again"
        ) from None
    try:
        yield
    finally:
        lock.release()


def _read(path: Path) -> State:
    """Snapshot plus journal (the caller holds the short lock); a missing file is an empty state."""
    data = None
    if path.exists():
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
            raise StateError(
                f"{path}: the state file is unreadable ({exc}); restore it from a backup "
                "or move it away to start from an empty state"
            ) from None
        check_document(data, str(path))
    state = State(data=data)
    state.journal = FileJournal(path, state.lineage)
    state.persisted = data is not None
    _replay(state, journal_path(path))
    return state


def _replay(state: State, journal: Path) -> None:
    if not journal.exists():
        return
    with open(journal, encoding="utf-8") as handle:
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
                    f"{journal}:{number}: corrupt journal entry; restore the state from a backup"
                ) from None
            if not isinstance(entry, dict):
                raise StateError(f"{journal}:{number}: a journal entry must be a JSON object")
            try:
                state.apply_entry(entry)
            except StateError as exc:
                raise StateError(f"{journal}:{number}: {exc}") from None


def load_file(path: Path) -> State:
    """The state at ``path``: snapshot plus journal, read under the short lock."""
    with _io_lock(path):
        return _read(path)


def _trim_torn_tail(handle: Any) -> None:
    """Cut a last line a killed writer left without its newline (it was never acknowledged)."""
    size = handle.seek(0, os.SEEK_END)
    if size == 0:
        return
    handle.seek(size - 1)
    if handle.read(1) == b"\n":
        return
    block = min(size, 1 << 20)
    handle.seek(size - block)
    tail = handle.read(block)
    cut = tail.rfind(b"\n")
    handle.truncate(size - block + cut + 1 if cut >= 0 else (0 if block == size else size))
    handle.seek(0, os.SEEK_END)


class FileJournal:
    """Appends each entry to ``state.json.journal`` (fsynced) under the short lock."""

    def __init__(self, path: Path, lineage: str | None = None) -> None:
        self.path = path
        self.journal_path = journal_path(path)
        self.where = str(path)
        self.lineage = lineage

    def write(self, entry: Entry, serial: int) -> None:
        line = json.dumps(entry, ensure_ascii=False, sort_keys=True) + "\n"
        try:
            with _io_lock(self.path):
                if not self.path.exists():
                    # The first write creates the snapshot, so the lineage holds from now on.
                    first = empty_document()
                    first["lineage"] = self.lineage or first["lineage"]
                    atomic_write(self.path, json.dumps(first, indent=2, sort_keys=True) + "\n")
                self._append(line)
        except OSError as exc:
            raise StateError(f"{self.journal_path}: cannot append to the journal ({exc.strerror})") from None

    def _append(self, line: str) -> None:
        with open(self.journal_path, "a+b") as handle:
            _trim_torn_tail(handle)
            handle.write(line.encode("utf-8"))
            handle.flush()
            os.fsync(handle.fileno())

    def compact(self, state: State) -> None:
        """Re-read snapshot and journal (other accounts' runs may have appended), write, drop the journal."""
        with _io_lock(self.path):
            if not self.journal_path.exists() and self.path.exists():
                return
            fresh = _read(self.path)
            _write_snapshot(self.path, fresh.data)
        state.data = fresh.data

    def close(self) -> None:
        return None


def _write_snapshot(path: Path, data: dict[str, Any]) -> None:
    """Write the snapshot and remove the journal it contains (the caller holds the short lock)."""
    try:
        atomic_write(path, json.dumps(data, indent=2, sort_keys=True, ensure_ascii=False) + "\n")
        journal = journal_path(path)
        if journal.exists():
            journal.unlink()
    except OSError as exc:
        raise StateError(f"{path}: cannot write the state file ({exc.strerror})") from None


def _lock_name(account: str) -> str:
    if _SAFE_NAME.fullmatch(account):
        return account
    return "account-" + hashlib.sha256(account.encode("utf-8")).hexdigest()[:16]


class FileBackend:
    """The state file at ``path`` with per-account OS locks."""

    name = "file"

    def __init__(self, path: Path) -> None:
        self.path = path
        self.where = str(path)

    def lock_path(self, account: str) -> Path:
        return self.path.with_name(f"{self.path.name}.{_lock_name(account)}.lock")

    def _sidecar(self, account: str) -> Path:
        return self.path.with_name(f"{self.path.name}.{_lock_name(account)}.lock.json")

    def load(self) -> State:
        return load_file(self.path)

    def _holder(self, account: str) -> dict[str, Any] | None:
        try:
            info = json.loads(self._sidecar(account).read_text(encoding="utf-8"))
        except (OSError, UnicodeDecodeError, json.JSONDecodeError):
            return None
        return info if isinstance(info, dict) else None

    @contextmanager
    def lock(self, accounts: Iterable[str], command: str, timeout: float = 0.0) -> Iterator[None]:
        """Hold the lock of each account (in name order) for the block; fail naming a holder."""
        self.path.parent.mkdir(parents=True, exist_ok=True)
        held: list[tuple[str, FileLock]] = []
        started = time.monotonic()
        try:
            for account in sorted(set(accounts)):
                lock = FileLock(str(self.lock_path(account)), thread_local=False)
                if not _try(lock, 0):
                    if timeout > 0:
                        log.warning(
                            "state: account %s is locked by another run (%s); waiting up to %.0fs",
                            account,
                            ", ".join(
                                f"{k}={v}" for k, v in (self._holder(account) or {}).items() if k != "account"
                            ),
                            timeout,
                        )
                    left = timeout - (time.monotonic() - started)
                    if not _try(lock, max(0.0, left)):
                        raise StateError(locked_message(self.where, account, self._holder(account), timeout))
                held.append((account, lock))
                atomic_write(
                    self._sidecar(account), json.dumps({**holder_record(command), "account": account})
                )
            yield
        finally:
            for account, lock in reversed(held):
                try:
                    self._sidecar(account).unlink()
                except OSError:
                    pass
                lock.release()

    def lock_status(self, accounts: Iterable[str] | None = None) -> list[LockStatus]:
        """Each account's lock (every lock file present when ``accounts`` is None)."""
        if accounts is None:
            names: dict[str, str] = {}
            prefix = self.path.name + "."
            for found in self.path.parent.glob(f"{self.path.name}.*.lock*"):
                middle = found.name[len(prefix) :].removesuffix(".json").removesuffix(".lock")
                info = self._holder_by_file(found) if found.name.endswith(".json") else None
                names.setdefault(middle, middle)
                if info and isinstance(info.get("account"), str):
                    names[middle] = info["account"]
            accounts = sorted(set(names.values()))
        out = []
        for account in accounts:
            lock = FileLock(str(self.lock_path(account)), thread_local=False)
            free = _try(lock, 0)
            if free:
                lock.release()
            out.append(LockStatus(account, not free, self._holder(account)))
        return out

    @staticmethod
    def _holder_by_file(path: Path) -> dict[str, Any] | None:
        try:
            info = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, UnicodeDecodeError, json.JSONDecodeError):
            return None
        return info if isinstance(info, dict) else None

    def break_lock(self, account: str) -> None:
        """Clear a free lock's leftover record (holding the lock meanwhile, so no run starts in
        between); for a held one, remove the lock file and its record: the next run takes a fresh file."""
        lock = FileLock(str(self.lock_path(account)), thread_local=False)
        free = _try(lock, 0)
        try:
            for leftover in (
                (self._sidecar(account),) if free else (self._sidecar(account), self.lock_path(account))
            ):
                try:
                    leftover.unlink()
                except OSError:
                    pass
        finally:
            if free:
                lock.release()

    def read_document(self) -> dict[str, Any]:
        return load_file(self.path).data

    def write_document(self, data: dict[str, Any], accounts: Iterable[str] | None = None) -> None:
        """Replace ``accounts`` (default: everything) and the lineage with ``data``'s.

        The caller holds the locks of ``accounts``; other accounts are re-read under the short lock,
        so writes that runs for them journaled meanwhile are kept.
        """
        check_document(data, "the state to write")
        with _io_lock(self.path):
            if accounts is None:
                _write_snapshot(self.path, data)
                return
            out = _read(self.path).data
            names = set(accounts)
            out["lineage"] = data["lineage"]
            for name in names:
                out["accounts"].pop(name, None)
                if data["accounts"].get(name):
                    out["accounts"][name] = data["accounts"][name]
                out["serials"][name] = int(data["serials"].get(name, 0))
            out["intents"] = [i for i in out["intents"] if i["account"] not in names]
            out["intents"] += [i for i in data["intents"] if i["account"] in names]
            out["serial"] = sum(int(v) for v in out["serials"].values())
            _write_snapshot(self.path, out)

    def migrate(self) -> list[int]:
        return []

    def close(self) -> None:
        return None


def _try(lock: FileLock, timeout: float) -> bool:
    try:
        lock.acquire(timeout=timeout, poll_interval=0.05)
    except Timeout:
        return False
    return True
