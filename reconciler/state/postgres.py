"""The PostgreSQL backend: state shared by every checkout and CI runner, locked per account.

One connection per run carries everything: the session advisory locks of the accounts the run
touches (released by the server when the connection ends, so a killed run frees them) and every
write. Each journal entry is one transaction that changes the item or intent and bumps the
account's serial, checking it against the serial this run expects: a write lands whole or not at
all, and never on top of another run's. After a lost connection nothing more is written: the run
stops, and the next one reads a consistent state. Tables: see ``docs/operations.md``.
"""

from __future__ import annotations

import logging
import threading
import time
import zlib
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from typing import Any

import psycopg
from psycopg import sql
from psycopg.types.json import Jsonb

from reconciler import secrets
from reconciler.errors import StateError
from reconciler.state.document import Entry, State, check_document, empty_document
from reconciler.state.locks import POLL_SECONDS, LockStatus, describe, holder_record, locked_message
from reconciler.state.migrations import migrate

log = logging.getLogger(__name__)
CONNECT_TIMEOUT = 10
ITEM = "WHERE account = %s AND type = %s AND key = %s"
UPSERT_ITEM = (
    "INSERT INTO {schema}.items (account, type, key, record) VALUES (%s, %s, %s, %s) "
    "ON CONFLICT (account, type, key) DO UPDATE SET record = EXCLUDED.record, updated_at = now()"
)
UPSERT_INTENT = (
    "INSERT INTO {schema}.intents (account, type, key, action, at) VALUES (%s, %s, %s, %s, %s) "
    "ON CONFLICT (account, type, key) DO UPDATE SET action = EXCLUDED.action, at = EXCLUDED.at"
)
BUMP_SERIAL = (
    "INSERT INTO {schema}.accounts (account, serial) VALUES (%s, 1) ON CONFLICT (account) "
    "DO UPDATE SET serial = {schema}.accounts.serial + 1, updated_at = now() RETURNING serial"
)
SET_HOLDER = (
    "INSERT INTO {schema}.locks (account, backend_pid, host, pid, command, since) "
    "VALUES (%s, pg_backend_pid(), %s, %s, %s, %s) ON CONFLICT (account) DO UPDATE SET "
    "backend_pid = EXCLUDED.backend_pid, host = EXCLUDED.host, pid = EXCLUDED.pid, "
    "command = EXCLUDED.command, since = EXCLUDED.since"
)
HOLDER = "SELECT host, pid, command, since, backend_pid FROM {schema}.locks WHERE account = %s"


def _key(text: str) -> int:
    """A non-negative int4 advisory-lock key (0 is kept for migrations)."""
    return (zlib.crc32(text.encode("utf-8")) & 0x7FFFFFFF) or 1


class PostgresBackend:
    """State in ``schema`` of the database at ``url`` (a secret: it never appears in a message)."""

    name = "postgres"

    def __init__(self, url: str, schema: str = "reconciler") -> None:
        secrets.register(url)
        password = psycopg.conninfo.conninfo_to_dict(url).get("password") if _parses(url) else None
        if isinstance(password, str):
            secrets.register(password)
        self._url = url
        self.schema = schema
        self.where = f"PostgreSQL state (schema {schema})"
        self._space = _key("reconciler:" + schema)
        self._conn: psycopg.Connection[Any] | None = None
        self._mutex = threading.RLock()
        self._lost = ""

    # -- connection ----------------------------------------------------------------------------------
    @contextmanager
    def _db(self, doing: str) -> Iterator[psycopg.Connection[Any]]:
        """The connection, with database errors turned into one redacted StateError line."""
        with self._mutex:
            if self._lost:
                raise StateError(self._lost)
            try:
                yield self._connect()
            except psycopg.OperationalError as exc:
                if self._conn is not None and self._conn.closed:
                    self._lost = (
                        f"{self.where}: lost the connection to the database while {doing} "
                        f"({_one_line(exc)}); that write did not happen and nothing was half-written. "
                        "The run stops here: plan again to see what is left"
                    )
                    raise StateError(self._lost) from None
                raise StateError(f"{self.where}: {doing} failed: {_one_line(exc)}") from None
            except psycopg.Error as exc:
                raise StateError(f"{self.where}: {doing} failed: {_one_line(exc)}") from None

    def _connect(self) -> psycopg.Connection[Any]:
        if self._conn is None:
            try:
                conn = psycopg.connect(
                    self._url,
                    autocommit=True,
                    connect_timeout=CONNECT_TIMEOUT,
                    application_name="reconciler",
                    keepalives=1,
                    keepalives_idle=30,
                    keepalives_interval=10,
                    keepalives_count=3,
                )
            except psycopg.Error as exc:
                raise StateError(
                    f"{self.where}: cannot connect ({_one_line(exc)}); check state.url in reconciler.yaml "
                    "and that the server is reachable"
                ) from None
            self._conn = conn
            try:
                applied = migrate(conn, self.schema, self._space, self.where)
            except BaseException:
                self._conn = None
                conn.close()
                raise
            if applied:
                log.info("state: migrated %s to version %s", self.where, applied[-1])
        return self._conn

    def _q(self, statement: str) -> sql.Composed:
        return sql.SQL(statement).format(schema=sql.Identifier(self.schema))

    def migrate(self) -> list[int]:
        """Run pending migrations (connecting runs them); return the versions applied by this call."""
        with self._mutex:
            if self._conn is not None:
                return []
            try:
                conn = psycopg.connect(self._url, autocommit=True, connect_timeout=CONNECT_TIMEOUT)
            except psycopg.Error as exc:
                raise StateError(f"{self.where}: cannot connect ({_one_line(exc)})") from None
            try:
                applied = migrate(conn, self.schema, self._space, self.where)
            except psycopg.Error as exc:
                raise StateError(f"{self.where}: migrating failed: {_one_line(exc)}") from None
            finally:
                conn.close()
            return applied

    def close(self) -> None:
        with self._mutex:
            if self._conn is not None:
                try:
                    self._conn.close()
                except psycopg.Error:
                    pass
                self._conn = None

    # -- reading -------------------------------------------------------------------------------------
    def read_document(self) -> dict[str, Any]:
        """Everything, read in one consistent snapshot, in the file backend's document shape."""
        with self._db("reading the state") as conn, conn.transaction():
            conn.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY")
            lineage = conn.execute(
                self._q("SELECT value FROM {schema}.meta WHERE key = 'lineage'")
            ).fetchone()
            data = empty_document()
            data["lineage"] = lineage[0] if lineage else data["lineage"]
            for account, serial in conn.execute(self._q("SELECT account, serial FROM {schema}.accounts")):
                data["serials"][account] = int(serial)
            rows = conn.execute(
                self._q("SELECT account, type, key, record FROM {schema}.items ORDER BY 1, 2, 3")
            )
            for account, type_, key, record in rows:
                data["accounts"].setdefault(account, {}).setdefault(type_, {})[key] = record
            rows = conn.execute(
                self._q("SELECT account, type, key, action, at FROM {schema}.intents ORDER BY at, 1, 2, 3")
            )
            for account, type_, key, action, at in rows:
                data["intents"].append(
                    {"account": account, "type": type_, "key": key, "action": action, "at": at}
                )
        data["serial"] = sum(data["serials"].values())
        return check_document(data, self.where)

    def load(self) -> State:
        state = State(data=self.read_document(), journal=PostgresJournal(self))
        state.persisted = True  # the lineage was made with the tables
        return state

    # -- writing -------------------------------------------------------------------------------------
    def write_entry(self, entry: Entry, serial: int) -> None:
        """One entry in one transaction, with the account's serial bumped and checked."""
        account, type_, key = entry["account"], entry["type"], entry["key"]
        item = (account, type_, key)
        op = entry["op"]
        with self._db(f"recording {op} {account}/{type_}/{key}") as conn, conn.transaction():
            if op == "record":
                from reconciler.state.document import record_of

                conn.execute(
                    self._q(UPSERT_ITEM),
                    (*item, Jsonb(record_of(entry))),
                )
                conn.execute(
                    self._q("DELETE FROM {schema}.intents " + ITEM),
                    item,
                )
            elif op == "forget":
                conn.execute(self._q("DELETE FROM {schema}.items " + ITEM), item)
            elif op == "intent":
                conn.execute(
                    self._q(UPSERT_INTENT),
                    (*item, entry.get("action", ""), entry["at"]),
                )
            elif op == "resolve":
                conn.execute(
                    self._q("DELETE FROM {schema}.intents " + ITEM),
                    item,
                )
            row = conn.execute(
                self._q(BUMP_SERIAL),
                (account,),
            ).fetchone()
            if row is None or int(row[0]) != serial:
                raise StateError(
                    f"{self.where}: account {account} was written by another run meanwhile (serial "
                    f"{row[0] if row else '?'}, expected {serial}); nothing was recorded. Plan again"
                )

    def write_document(self, data: dict[str, Any], accounts: Iterable[str] | None = None) -> None:
        """Replace ``accounts`` (default: those in ``data``) and the lineage, in one transaction."""
        check_document(data, "the state to write")
        names = sorted(set(accounts if accounts is not None else data["accounts"]) | set(data["serials"]))
        with self._db("writing the state") as conn, conn.transaction():
            conn.execute(
                self._q("UPDATE {schema}.meta SET value = %s WHERE key = 'lineage'"), (data["lineage"],)
            )
            for table in ("items", "intents", "accounts"):
                conn.execute(self._q(f"DELETE FROM {{schema}}.{table} WHERE account = ANY(%s)"), (names,))
            for account in names:
                serial = int(data["serials"].get(account, 0))
                conn.execute(
                    self._q("INSERT INTO {schema}.accounts (account, serial) VALUES (%s, %s)"),
                    (account, serial),
                )
                for type_, records in data["accounts"].get(account, {}).items():
                    for key, record in records.items():
                        conn.execute(
                            self._q(UPSERT_ITEM),
                            (account, type_, key, Jsonb(record)),
                        )
            for intent in data["intents"]:
                if intent["account"] in names:
                    conn.execute(
                        self._q(UPSERT_INTENT),
                        (
                            intent["account"],
                            intent["type"],
                            intent["key"],
                            str(intent.get("action", "")),
                            str(intent.get("at", "")),
                        ),
                    )

    # -- locks ---------------------------------------------------------------------------------------
    @contextmanager
    def lock(self, accounts: Iterable[str], command: str, timeout: float = 0.0) -> Iterator[None]:
        """Hold each account's session advisory lock (in name order) for the block."""
        held: list[str] = []
        started = time.monotonic()
        try:
            for account in sorted(set(accounts)):
                warned = False
                while not self._try_lock(account):
                    waited = time.monotonic() - started
                    if waited >= timeout:
                        raise StateError(locked_message(self.where, account, self._holder(account), timeout))
                    if not warned:
                        log.warning(
                            "state: account %s is locked by another run (%s); waiting up to %.0fs",
                            account,
                            describe(self._holder(account)),
                            timeout,
                        )
                        warned = True
                    time.sleep(min(POLL_SECONDS * 2, max(0.0, timeout - waited)))
                held.append(account)
                info = holder_record(command)
                with self._db("recording the lock holder") as conn:
                    conn.execute(
                        self._q(SET_HOLDER),
                        (account, info["host"], info["pid"], info["command"], info["since"]),
                    )
            yield
        finally:
            for account in reversed(held):
                self._unlock(account)

    def _try_lock(self, account: str) -> bool:
        with self._db(f"locking account {account}") as conn:
            row = conn.execute("SELECT pg_try_advisory_lock(%s, %s)", (self._space, _key(account))).fetchone()
        return bool(row and row[0])

    def _unlock(self, account: str) -> None:
        try:
            with self._db(f"unlocking account {account}") as conn:
                conn.execute(
                    self._q(
                        "DELETE FROM {schema}.locks WHERE account = %s AND backend_pid = pg_backend_pid()"
                    ),
                    (account,),
                )
                conn.execute("SELECT pg_advisory_unlock(%s, %s)", (self._space, _key(account)))
        except StateError as exc:  # a lost connection released the lock already
            log.info("state: %s", exc)

    def _holding_backend(self, conn: psycopg.Connection[Any], account: str) -> int | None:
        row = conn.execute(
            "SELECT pid FROM pg_locks WHERE locktype = 'advisory' AND granted AND objsubid = 2 "
            "AND classid::bigint = %s AND objid::bigint = %s "
            "AND database = (SELECT oid FROM pg_database WHERE datname = current_database())",
            (self._space, _key(account)),
        ).fetchone()
        return int(row[0]) if row else None

    def _holder(self, account: str, backend: int | None = None) -> dict[str, Any] | None:
        with self._db(f"reading the lock of {account}") as conn:
            backend = backend if backend is not None else self._holding_backend(conn, account)
            row = conn.execute(
                self._q(
                    "SELECT host, pid, command, since, backend_pid FROM {schema}.locks WHERE account = %s"
                ),
                (account,),
            ).fetchone()
        if row is None or (backend is not None and row[4] != backend):
            return None
        return {"host": row[0], "pid": row[1], "command": row[2], "since": row[3]}

    def lock_status(self, accounts: Iterable[str] | None = None) -> list[LockStatus]:
        """Each account's lock (every account with a lock record when ``accounts`` is None)."""
        with self._db("reading the locks") as conn:
            if accounts is None:
                names = [r[0] for r in conn.execute(self._q("SELECT account FROM {schema}.locks ORDER BY 1"))]
            else:
                names = list(accounts)
            out = []
            for account in names:
                backend = self._holding_backend(conn, account)
                row = conn.execute(
                    self._q(
                        "SELECT host, pid, command, since, backend_pid FROM {schema}.locks WHERE account = %s"
                    ),
                    (account,),
                ).fetchone()
                holder = {"host": row[0], "pid": row[1], "command": row[2], "since": row[3]} if row else None
                if backend is not None and row is not None and row[4] != backend:
                    holder = None  # a record left by an earlier holder; the live one is unknown
                out.append(LockStatus(account, backend is not None, holder))
        return out

    def break_lock(self, account: str) -> None:
        """End the session holding the account's lock (the server releases it) and drop the record."""
        with self._db(f"breaking the lock of {account}") as conn:
            backend = self._holding_backend(conn, account)
            if backend is not None:
                conn.execute("SELECT pg_terminate_backend(%s)", (backend,))
            conn.execute(self._q("DELETE FROM {schema}.locks WHERE account = %s"), (account,))


class PostgresJournal:
    """The :class:`~reconciler.state.document.Journal` of a PostgreSQL state: one transaction per entry."""

    def __init__(self, backend: PostgresBackend) -> None:
        self.backend = backend
        self.where = backend.where

    def write(self, entry: Entry, serial: int) -> None:
        self.backend.write_entry(entry, serial)

    def compact(self, state: State) -> None:
        return None  # every entry is committed as it is written

    def close(self) -> None:
        return None


def _parses(url: str) -> bool:
    try:
        psycopg.conninfo.conninfo_to_dict(url)
    except psycopg.Error:
        return False
    return True


def _one_line(exc: BaseException) -> str:
    text = " ".join(str(exc).split()) or type(exc).__name__
    return secrets.redact(text[:300])
