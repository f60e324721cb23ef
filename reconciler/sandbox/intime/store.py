"""The SQLite store behind the emulated InTime API: schema, seed data and test helpers.

:class:`IntimeStore` creates the tables (``IF NOT EXISTS``, so a sandbox file persists), seeds the
``SANDBOX_CREDENTIALS`` account idempotently, derives what InTime computes from stored rows
(message status, reminder message date and text), and gives tests direct access to the data:
``groups()``, ``contacts()``, ``nix()``, ``reminders()``, ``messages()``, ``add_group`` and
``add_reminder`` ... inspect and tamper with the SQLite data without going through HTTP.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from datetime import datetime, timedelta
from typing import Any

from reconciler.sandbox.intime.wire import INPUT_DATE, OUTPUT_DATE, TZ, norm_mobile
from reconciler.sandbox.server import Emulator

SANDBOX_CREDENTIALS = {"user": "demo", "hash": "0123456789abcdef0123456789abcdef01234567"}
DEFAULT_TEMPLATE = (
    "Hej {first_name}! Påminnelse om din tid hos {organizer} {date} kl {time}. Välkommen! /{alias}"
)

SCHEMA = """
CREATE TABLE IF NOT EXISTS users (user TEXT PRIMARY KEY, hash TEXT NOT NULL, user_id INTEGER NOT NULL,
    alias TEXT NOT NULL, template TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS groups (id INTEGER PRIMARY KEY AUTOINCREMENT, user TEXT NOT NULL,
    name TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS contacts (id INTEGER PRIMARY KEY AUTOINCREMENT, user TEXT NOT NULL,
    type INTEGER NOT NULL, firstname TEXT NOT NULL DEFAULT '', lastname TEXT NOT NULL DEFAULT '',
    email TEXT NOT NULL DEFAULT '', mobile TEXT NOT NULL DEFAULT '', extrafield TEXT NOT NULL DEFAULT '');
CREATE TABLE IF NOT EXISTS memberships (
    contact_id INTEGER NOT NULL REFERENCES contacts(id) ON DELETE CASCADE,
    group_id INTEGER NOT NULL REFERENCES groups(id) ON DELETE CASCADE, PRIMARY KEY (contact_id, group_id));
CREATE TABLE IF NOT EXISTS nix (id INTEGER PRIMARY KEY AUTOINCREMENT, user TEXT NOT NULL,
    mobile TEXT NOT NULL, norm TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS reminders (id INTEGER PRIMARY KEY AUTOINCREMENT, user TEXT NOT NULL,
    appointment TEXT NOT NULL, organizer_title TEXT NOT NULL DEFAULT '',
    organizer_firstname TEXT NOT NULL DEFAULT '', organizer_lastname TEXT NOT NULL DEFAULT '',
    attendant_firstname TEXT NOT NULL DEFAULT '', attendant_lastname TEXT NOT NULL DEFAULT '',
    attendant_mobile TEXT NOT NULL, active INTEGER NOT NULL DEFAULT 1);
CREATE TABLE IF NOT EXISTS messages (id INTEGER PRIMARY KEY AUTOINCREMENT, user TEXT NOT NULL,
    created TEXT NOT NULL, senddate TEXT, sendertitle TEXT NOT NULL, body TEXT NOT NULL,
    flash INTEGER NOT NULL, multisms INTEGER NOT NULL, statusurl TEXT, checknix INTEGER NOT NULL,
    anonymize INTEGER NOT NULL, recipients TEXT NOT NULL, groups TEXT NOT NULL, audience TEXT NOT NULL,
    deleted INTEGER NOT NULL DEFAULT 0);
"""
# Distinct id ranges per table make a client that mixes up ids fail loudly.
FIRST_IDS = {"groups": 0, "contacts": 1000, "nix": 5000, "reminders": 100, "messages": 900000}


class IntimeStore(Emulator):
    """The InTime emulator's data: tables, seeding, derived values and direct test access."""

    schema = SCHEMA

    def setup(self) -> None:
        for table, first in FIRST_IDS.items():
            self.db.execute(
                "INSERT INTO sqlite_sequence (name, seq) SELECT ?, ? WHERE NOT EXISTS "
                "(SELECT 1 FROM sqlite_sequence WHERE name = ?)",
                (table, first, table),
            )
        self.add_user(SANDBOX_CREDENTIALS["user"], SANDBOX_CREDENTIALS["hash"], alias="InTime Demo")

    # -- derived values and queries shared by the handlers ---------------------------------------
    def now(self) -> datetime:
        """The emulator's Swedish wall-clock time."""
        return datetime.fromtimestamp(self.clock(), TZ).replace(tzinfo=None)

    def _status(self, row: Any) -> str:
        if row["deleted"]:
            return "deleted"
        if row["senddate"] is None or datetime.strptime(row["senddate"], INPUT_DATE) <= self.now():
            return "sent"
        return "scheduled"

    def _group_exists(self, user: str, group_id: int) -> bool:
        return (
            self.db.execute("SELECT 1 FROM groups WHERE id = ? AND user = ?", (group_id, user)).fetchone()
            is not None
        )

    @staticmethod
    def _derived(row: Any, account: Any) -> dict[str, str]:
        """Section 7.2 ASSUMPTION: message at 10:00 the day before, text from the account template."""
        when = datetime.strptime(row["appointment"], INPUT_DATE)
        organizer = " ".join(
            p for p in (row["organizer_title"], row["organizer_firstname"], row["organizer_lastname"]) if p
        )
        text = account["template"].format(
            first_name=row["attendant_firstname"],
            organizer=organizer or "oss",
            date=when.strftime("%Y-%m-%d"),
            time=when.strftime("%H:%M"),
            alias=account["alias"],
        )
        message_date = (when - timedelta(days=1)).replace(hour=10, minute=0, second=0)
        return {
            "appointment": when.strftime(OUTPUT_DATE),
            "message_date": message_date.strftime(OUTPUT_DATE),
            "message_text": text,
        }

    def _insert_reminder(self, user: str, values: dict[str, Any]) -> int:
        columns = ["user", *values]
        sql = f"INSERT INTO reminders ({', '.join(columns)}) VALUES ({', '.join('?' for _ in columns)})"
        return int(self.db.execute(sql, [user, *values.values()]).lastrowid or 0)

    # -- test helpers: inspect and tamper with the data ---------------------------------------------
    def add_user(
        self, user: str, secret: str, *, alias: str = "InTime", template: str = DEFAULT_TEMPLATE
    ) -> None:
        """Create (or keep) an account with ``secret`` as its hash."""
        with self.lock:
            user_id = self.db.execute("SELECT COUNT(*) FROM users").fetchone()[0] + 1
            self.db.execute(
                "INSERT OR IGNORE INTO users (user, hash, user_id, alias, template) VALUES (?, ?, ?, ?, ?)",
                (user, secret, user_id, alias, template),
            )

    def _rows(self, sql: str, *args: Any) -> list[dict[str, Any]]:
        with self.lock:
            return [dict(row) for row in self.db.execute(sql, args)]

    def groups(self, user: str = SANDBOX_CREDENTIALS["user"]) -> list[dict[str, Any]]:
        """Groups of ``user`` as ``{"id", "name"}`` in id order."""
        return self._rows("SELECT id, name FROM groups WHERE user = ? ORDER BY id", user)

    def contacts(self, user: str = SANDBOX_CREDENTIALS["user"]) -> list[dict[str, Any]]:
        """Contacts of ``user`` with their group ids, in id order."""
        rows = self._rows("SELECT * FROM contacts WHERE user = ? ORDER BY id", user)
        for row in rows:
            row["groups"] = [
                r["group_id"]
                for r in self._rows(
                    "SELECT group_id FROM memberships WHERE contact_id = ? ORDER BY group_id", row["id"]
                )
            ]
            del row["user"]
        return rows

    def nix(self, user: str = SANDBOX_CREDENTIALS["user"]) -> list[dict[str, Any]]:
        """Block-list entries of ``user`` as ``{"id", "mobile"}`` (mobile as it was sent)."""
        return self._rows("SELECT id, mobile FROM nix WHERE user = ? ORDER BY id", user)

    def reminders(self, user: str = SANDBOX_CREDENTIALS["user"]) -> list[dict[str, Any]]:
        """Reminders of ``user`` with ``active`` as a bool and the derived fields."""
        with self.lock:
            account = self.db.execute("SELECT * FROM users WHERE user = ?", (user,)).fetchone()
            rows = self.db.execute("SELECT * FROM reminders WHERE user = ? ORDER BY id", (user,)).fetchall()
            out = []
            for row in rows:
                item = {k: row[k] for k in row.keys() if k != "user"}
                item["active"] = bool(row["active"])
                item.update({k: v for k, v in self._derived(row, account).items() if k != "appointment"})
                out.append(item)
            return out

    def messages(self, user: str = SANDBOX_CREDENTIALS["user"]) -> list[dict[str, Any]]:
        """Messages of ``user`` with ``status`` scheduled / sent / deleted as of ``clock``."""
        with self.lock:
            rows = self.db.execute("SELECT * FROM messages WHERE user = ? ORDER BY id", (user,)).fetchall()
            out = []
            for row in rows:
                item = {k: row[k] for k in row.keys() if k not in ("user", "deleted")}
                for name in ("recipients", "groups", "audience"):
                    item[name] = json.loads(row[name])
                for name in ("flash", "multisms", "checknix", "anonymize"):
                    item[name] = bool(row[name])
                item["status"] = self._status(row)
                out.append(item)
            return out

    def add_group(self, name: str, user: str = SANDBOX_CREDENTIALS["user"]) -> int:
        """Create a group directly (as if made in the InTime UI); returns its id."""
        with self.lock:
            return int(
                self.db.execute("INSERT INTO groups (user, name) VALUES (?, ?)", (user, name)).lastrowid or 0
            )

    def add_nix(self, mobile: str, user: str = SANDBOX_CREDENTIALS["user"]) -> int:
        """Block ``mobile`` directly (stored as given); returns the entry id."""
        with self.lock:
            return int(
                self.db.execute(
                    "INSERT INTO nix (user, mobile, norm) VALUES (?, ?, ?)",
                    (user, mobile, norm_mobile(mobile)),
                ).lastrowid
                or 0
            )

    def add_contact(
        self,
        mobile: str = "",
        *,
        email: str = "",
        firstname: str = "",
        lastname: str = "",
        groups: Iterable[int] = (),
        user: str = SANDBOX_CREDENTIALS["user"],
    ) -> int:
        """Create a contact directly; returns its id."""
        kind = 3 if mobile and email else 1 if mobile else 2
        with self.lock:
            cid = int(
                self.db.execute(
                    "INSERT INTO contacts (user, type, firstname, lastname, email, mobile)"
                    " VALUES (?, ?, ?, ?, ?, ?)",
                    (user, kind, firstname, lastname, email, mobile),
                ).lastrowid
                or 0
            )
            for gid in groups:
                self.db.execute("INSERT INTO memberships (contact_id, group_id) VALUES (?, ?)", (cid, gid))
            return cid

    def add_reminder(
        self,
        appointment: str,
        attendant_mobile: str,
        *,
        active: bool = True,
        user: str = SANDBOX_CREDENTIALS["user"],
        **fields: str,
    ) -> int:
        """Create a reminder directly; ``appointment`` is ``YYYY-MM-DDTHH:MM:SS``, ``fields`` are columns
        such as ``organizer_title`` or ``attendant_firstname``. Returns its id."""
        values: dict[str, Any] = {
            "appointment": appointment,
            "attendant_mobile": attendant_mobile,
            "active": int(active),
            **fields,
        }
        with self.lock:
            return self._insert_reminder(user, values)

    def set_reminder_active(self, reminder_id: int, active: bool) -> None:
        """Activate or deactivate a reminder directly (the InTime UI can; the API cannot re-activate)."""
        with self.lock:
            self.db.execute("UPDATE reminders SET active = ? WHERE id = ?", (int(active), reminder_id))
