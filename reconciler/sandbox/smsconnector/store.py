"""The SQLite store behind the emulated SMSConnector API: schema, seed data, sessions and test hooks.

:class:`SmsConnectorStore` creates the tables (``IF NOT EXISTS``, so a sandbox file persists),
seeds the ``SANDBOX_CREDENTIALS`` user, the company's headers and brands and one folder, and
gives tests direct access: ``lists()``, ``numbers()``, ``campaigns()``, ``expire_sessions()``,
``add_stop()``, ``add_reinstate()``, ... and ``POST /__emulator__/`` ``expire_sessions``, ``stop``
and ``start`` (body ``{"PhoneNumber": ..., "Date": ...}``).
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from typing import Any

from werkzeug.wrappers import Request, Response

from reconciler.sandbox.server import Emulator, Faults
from reconciler.sandbox.smsconnector.wire import (
    format_when,
    json_response,
    normalize_uk,
    parse_when,
)

SANDBOX_CREDENTIALS = {"username": "demo", "password": "sandbox-smsconnector-password"}
SEED_HEADERS = ("82830", "ACMELTD")
SEED_BRANDS = ("Acme",)
SEED_FOLDER = "Marketing"

SCHEMA = """
CREATE TABLE IF NOT EXISTS users (username TEXT PRIMARY KEY, password TEXT NOT NULL, firstname TEXT,
    surname TEXT, phone TEXT, email TEXT, can_send INTEGER NOT NULL DEFAULT 1);
CREATE TABLE IF NOT EXISTS sessions (token TEXT PRIMARY KEY, username TEXT NOT NULL, last_used REAL NOT NULL);
CREATE TABLE IF NOT EXISTS reusable_tokens (token TEXT PRIMARY KEY, username TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS company (kind TEXT NOT NULL, value TEXT NOT NULL, PRIMARY KEY (kind, value));
CREATE TABLE IF NOT EXISTS folders (id INTEGER PRIMARY KEY, name TEXT NOT NULL, parent INTEGER);
CREATE TABLE IF NOT EXISTS lists (id INTEGER PRIMARY KEY AUTOINCREMENT, name TEXT NOT NULL,
    folder INTEGER NOT NULL DEFAULT 0);
CREATE TABLE IF NOT EXISTS entries (list_id INTEGER NOT NULL REFERENCES lists(id), number TEXT NOT NULL,
    seq INTEGER NOT NULL, phone TEXT NOT NULL, fields TEXT NOT NULL, PRIMARY KEY (list_id, number));
CREATE TABLE IF NOT EXISTS campaigns (id INTEGER PRIMARY KEY AUTOINCREMENT, title TEXT NOT NULL,
    text TEXT NOT NULL, folder INTEGER NOT NULL, brand TEXT, from_number TEXT NOT NULL,
    launch_at REAL NOT NULL, lease INTEGER, armed INTEGER NOT NULL DEFAULT 0);
CREATE TABLE IF NOT EXISTS campaign_lists (campaign_id INTEGER NOT NULL REFERENCES campaigns(id),
    list_id INTEGER NOT NULL REFERENCES lists(id), PRIMARY KEY (campaign_id, list_id));
-- kind: stop | start | fail
CREATE TABLE IF NOT EXISTS events (seq INTEGER PRIMARY KEY AUTOINCREMENT, kind TEXT NOT NULL,
    number TEXT NOT NULL, at REAL NOT NULL);
-- direction: in | out
CREATE TABLE IF NOT EXISTS messages (seq INTEGER PRIMARY KEY AUTOINCREMENT, direction TEXT NOT NULL,
    from_number TEXT NOT NULL, to_number TEXT NOT NULL, body TEXT NOT NULL, at REAL NOT NULL);
CREATE TABLE IF NOT EXISTS textins (seq INTEGER PRIMARY KEY AUTOINCREMENT, text_in_id INTEGER NOT NULL,
    number TEXT NOT NULL, keyword TEXT NOT NULL, at REAL NOT NULL);
"""


class SmsConnectorStore(Emulator):
    """The SMSConnector emulator's data: tables, seeding, shared queries and direct test access."""

    schema = SCHEMA

    def __init__(self, db_path: str = ":memory:", *, rpm_limit: int | None = None,
                 faults: Faults | str | None = None, clock: Callable[[], float] = time.time,
                 session_idle_seconds: float = 3600) -> None:
        self.session_idle_seconds = session_idle_seconds
        super().__init__(db_path, rpm_limit=rpm_limit, faults=faults, clock=clock)

    def setup(self) -> None:
        self.add_user(SANDBOX_CREDENTIALS["username"], SANDBOX_CREDENTIALS["password"])
        for value in SEED_HEADERS:
            self.db.execute("INSERT OR IGNORE INTO company VALUES ('header', ?)", (value,))
        for value in SEED_BRANDS:
            self.db.execute("INSERT OR IGNORE INTO company VALUES ('brand', ?)", (value,))
        self.db.execute("INSERT OR IGNORE INTO folders VALUES (1, ?, NULL)", (SEED_FOLDER,))

    # -- queries shared by the handlers and the test hooks ----------------------------------------
    def _company(self, kind: str) -> list[str]:
        rows = self.db.execute("SELECT value FROM company WHERE kind = ? ORDER BY rowid", (kind,))
        return [r["value"] for r in rows]

    def _list_info(self, list_id: int) -> dict[str, Any]:
        row = self.db.execute("SELECT l.*, (SELECT count(*) FROM entries e WHERE e.list_id = l.id) AS n "
                              "FROM lists l WHERE id = ?", (list_id,)).fetchone()
        return {"ListID": row["id"], "ListName": row["name"], "Folder": row["folder"],
                "NumberCount": row["n"]}

    def _entries(self, list_id: int) -> list[Any]:
        return self.db.execute("SELECT * FROM entries WHERE list_id = ? ORDER BY seq", (list_id,)).fetchall()

    # -- test hooks -------------------------------------------------------------------------------
    def control(self, action: str, request: Request) -> Response | None:
        if request.method != "POST":
            return None
        if action == "expire_sessions":
            self.expire_sessions()
            return json_response({"expired": True})
        if action in ("stop", "start"):
            data = json.loads(request.get_data(as_text=True) or "{}")
            (self.add_stop if action == "stop" else self.add_reinstate)(data["PhoneNumber"], data.get("Date"))
            return json_response({"ok": True})
        return None

    def add_user(self, username: str, password: str, *, can_send: bool = True) -> None:
        """Create (or keep) a user of the company."""
        with self.transaction() as db:
            db.execute("INSERT OR IGNORE INTO users VALUES (?, ?, 'Demo', 'User', '447700900000', "
                       "'demo@example.com', ?)", (username, password, int(can_send)))

    def add_folder(self, name: str, parent: int | None = None) -> int:
        """Create a folder; returns its id."""
        with self.transaction() as db:
            cur = db.execute("INSERT INTO folders (name, parent) VALUES (?, ?)", (name, parent))
            return int(cur.lastrowid or 0)

    def _add_event(self, kind: str, number: str, when: Any) -> None:
        digits = normalize_uk(number)
        if digits is None:
            raise ValueError(f"invalid phone number {number!r}")
        at = self.clock() if when is None else parse_when(when)
        with self.transaction() as db:
            db.execute("INSERT INTO events (kind, number, at) VALUES (?, ?, ?)", (kind, digits, at))

    def add_stop(self, number: str, when: Any = None) -> None:
        """Record that ``number`` texted STOP at ``when`` (epoch, datetime or ISO; default now)."""
        self._add_event("stop", number, when)

    def add_reinstate(self, number: str, when: Any = None) -> None:
        """Record that ``number`` texted START at ``when``."""
        self._add_event("start", number, when)

    def add_failure(self, number: str, when: Any = None) -> None:
        """Record one failed delivery to ``number`` (three make it a recent fail)."""
        self._add_event("fail", number, when)

    def add_inbound(self, sender: str, to: str, text: str, when: Any = None) -> None:
        """Record an inbound SMS from ``sender`` to the company number ``to``."""
        at = self.clock() if when is None else parse_when(when)
        with self.transaction() as db:
            db.execute("INSERT INTO messages (direction, from_number, to_number, body, at) VALUES "
                       "('in', ?, ?, ?, ?)", (normalize_uk(sender) or sender, to, text, at))

    def add_text_in(self, number: str, keyword: str, text_in_id: int = 1, when: Any = None) -> None:
        """Record that ``number`` texted ``keyword`` to the Text-In ``text_in_id``."""
        at = self.clock() if when is None else parse_when(when)
        with self.transaction() as db:
            db.execute("INSERT INTO textins (text_in_id, number, keyword, at) VALUES (?, ?, ?, ?)",
                       (text_in_id, normalize_uk(number) or number, keyword, at))

    def expire_sessions(self) -> None:
        """End every open session now (the next call with an old token gets InvalidSession)."""
        with self.transaction() as db:
            db.execute("DELETE FROM sessions")

    def sessions(self) -> int:
        """Number of open (not logged-out, not yet expired) sessions."""
        with self.lock:
            now = self.clock()
            row = self.db.execute("SELECT count(*) FROM sessions WHERE ? - last_used <= ?",
                                  (now, self.session_idle_seconds)).fetchone()
            return int(row[0])

    def lists(self) -> list[dict[str, Any]]:
        """Every phone list as PhoneListInfo, in id order."""
        with self.lock:
            rows = self.db.execute("SELECT id FROM lists ORDER BY id").fetchall()
            return [self._list_info(r["id"]) for r in rows]

    def numbers(self, list_id: int) -> list[str]:
        """The numbers of one list as stored, in insertion order."""
        with self.lock:
            return [r["phone"] for r in self._entries(list_id)]

    def campaigns(self) -> list[dict[str, Any]]:
        """Every campaign with its linked list ids, launch flag and whether it has been sent."""
        with self.lock:
            now = self.clock()
            out = []
            for row in self.db.execute("SELECT * FROM campaigns ORDER BY id").fetchall():
                links = self.db.execute("SELECT list_id FROM campaign_lists WHERE campaign_id = ? "
                                        "ORDER BY list_id", (row["id"],))
                armed = bool(row["armed"])
                out.append({"id": row["id"], "title": row["title"], "text": row["text"],
                            "folder": row["folder"], "brand": row["brand"], "from_number": row["from_number"],
                            "launch_at": format_when(row["launch_at"]), "lease": row["lease"],
                            "armed": armed, "sent": armed and row["launch_at"] <= now,
                            "lists": [r["list_id"] for r in links]})
            return out
