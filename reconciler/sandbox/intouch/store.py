"""The SQLite store behind the emulated Intouch API: schema, seed data and test helpers.

:class:`IntouchStore` creates the tables (``IF NOT EXISTS``, so a sandbox file persists), seeds
the ``SANDBOX_CREDENTIALS`` user with its Inbox and Outbox, and gives tests and benchmarks direct
SQLite access without HTTP or validation: ``add_contact``, ``add_group``, ``add_member``,
``rename_contact``, ``add_inbound``, ``contacts()``, ``groups()``, ``members()``, ``bulk_load`` ...
Data is scoped per Intouch domain (the organisation).
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from reconciler.sandbox.intouch.wire import COLUMNS, EncodedContacts, contact_json, group_json
from reconciler.sandbox.server import Emulator

SANDBOX_CREDENTIALS = {"username": "demo", "domain": "example.com", "password": "sandbox-intouch-password"}
ALL_FUNCTIONS = ("SEND_SMS", "SEND_WAP", "EDIT_GROUP", "EDIT_CONTACT", "READ_SMS", "ALLOW_API")
DEFAULT_SETTINGS = {
    "SENDER_ID": "Demo", "NUMBER_PREFIX": "47", "NUMBER_LENGTH": "10", "SENDER_EMAIL": "demo@example.com",
    "FREE_SENDER_ID": "False", "ALLOW_PRIVATE_MESSAGES": "True", "DEFAULT_ROWS_PER_PAGE": "50",
    "CUSTOM_REPORTS_FOLDER": "", "MAX_TARIFF": "0",
}

SCHEMA = """
CREATE TABLE IF NOT EXISTS users (
  id INTEGER PRIMARY KEY, username TEXT NOT NULL, domain TEXT NOT NULL, password TEXT NOT NULL,
  functions TEXT NOT NULL, sender_ids TEXT NOT NULL, settings TEXT NOT NULL, organization TEXT NOT NULL,
  UNIQUE (username, domain));
CREATE TABLE IF NOT EXISTS contacts (
  id INTEGER PRIMARY KEY AUTOINCREMENT, org TEXT NOT NULL, firstname TEXT, lastname TEXT, phone TEXT,
  email TEXT, description TEXT, description2 TEXT, description3 TEXT, cpa INTEGER NOT NULL DEFAULT 0,
  private INTEGER NOT NULL DEFAULT 0, created INTEGER NOT NULL);
CREATE INDEX IF NOT EXISTS contacts_org ON contacts (org, phone);
CREATE TABLE IF NOT EXISTS groups (
  id INTEGER PRIMARY KEY AUTOINCREMENT, org TEXT NOT NULL, name TEXT NOT NULL, description TEXT,
  private INTEGER NOT NULL DEFAULT 0);
CREATE INDEX IF NOT EXISTS groups_org ON groups (org, name);
CREATE TABLE IF NOT EXISTS members (
  group_id INTEGER NOT NULL REFERENCES groups (id) ON DELETE CASCADE,
  contact_id INTEGER NOT NULL REFERENCES contacts (id) ON DELETE CASCADE,
  PRIMARY KEY (group_id, contact_id));
CREATE TABLE IF NOT EXISTS folders (
  id INTEGER PRIMARY KEY AUTOINCREMENT, org TEXT NOT NULL, name TEXT NOT NULL, type TEXT NOT NULL,
  parent_id INTEGER, private INTEGER NOT NULL DEFAULT 0, deletable INTEGER NOT NULL DEFAULT 0,
  UNIQUE (org, name, type));
CREATE TABLE IF NOT EXISTS messages (
  id INTEGER PRIMARY KEY AUTOINCREMENT, org TEXT NOT NULL, direction TEXT NOT NULL, folder_id INTEGER,
  text TEXT NOT NULL, receivers TEXT NOT NULL, sender TEXT, handled INTEGER NOT NULL,
  is_merge INTEGER NOT NULL DEFAULT 0, private INTEGER NOT NULL DEFAULT 0, tariff INTEGER NOT NULL DEFAULT 0);
"""


class IntouchStore(Emulator):
    """The Intouch emulator's data: tables, seeding and direct test access."""

    schema = SCHEMA
    encoded: EncodedContacts  # contacts' JSON texts, for the list answers (see wire.py)

    def setup(self) -> None:
        self.encoded = EncodedContacts()
        self.add_user(SANDBOX_CREDENTIALS["username"], SANDBOX_CREDENTIALS["domain"],
                      SANDBOX_CREDENTIALS["password"])

    # -- test helpers (direct SQLite access, no HTTP, no validation) ------------------------------
    def add_user(self, username: str, domain: str, password: str, *,
                 functions: Sequence[str] = ALL_FUNCTIONS, sender_ids: Sequence[str] = ("Demo", "4790000000"),
                 settings: Mapping[str, str] | None = None, organization: str = "Demo organisation") -> None:
        """Create a user (idempotent on username+domain) with its Inbox and Outbox folders."""
        org = {"Name": organization, "Description": "", "Edition": "Standard",
               "Description1Alias": "Description", "Description2Alias": "Description2",
               "Description3Alias": "Description3"}
        with self.lock:
            self.db.execute(
                "INSERT OR IGNORE INTO users (username, domain, password, functions, sender_ids, settings, "
                "organization) VALUES (?, ?, ?, ?, ?, ?, ?)",
                (username, domain, password, json.dumps(list(functions)), json.dumps(list(sender_ids)),
                 json.dumps(dict(settings if settings is not None else DEFAULT_SETTINGS)), json.dumps(org)))
            for name, kind in (("Inbox", "Inbox"), ("Outbox", "Outbox")):
                self.db.execute("INSERT OR IGNORE INTO folders (org, name, type) VALUES (?, ?, ?)",
                                (domain.lower(), name, kind))

    def add_contact(self, phone: str | None, *, first_name: str | None = None, last_name: str | None = None,
                    email: str | None = None, description: str | None = None, description2: str | None = None,
                    description3: str | None = None, cpa: bool = False, private: bool = False,
                    domain: str = SANDBOX_CREDENTIALS["domain"]) -> int:
        """Insert a contact as stored (any number format, no validation); return its ContactId."""
        with self.lock:
            cur = self.db.execute(
                "INSERT INTO contacts (org, firstname, lastname, phone, email, description, description2, "
                "description3, cpa, private, created) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (domain.lower(), first_name, last_name, phone, email, description, description2, description3,
                 int(cpa), int(private), self._now_ms()))
            return int(cur.lastrowid or 0)

    def add_group(self, name: str, *, description: str | None = None, private: bool = False,
                  domain: str = SANDBOX_CREDENTIALS["domain"]) -> int:
        """Insert a group (duplicate names allowed here, to model a messy account); return its GroupId."""
        with self.lock:
            cur = self.db.execute("INSERT INTO groups (org, name, description, private) VALUES (?, ?, ?, ?)",
                                  (domain.lower(), name, description, int(private)))
            return int(cur.lastrowid or 0)

    def add_member(self, group_id: int, contact_id: int) -> None:
        """Put a contact in a group (idempotent)."""
        with self.lock:
            self.db.execute("INSERT OR IGNORE INTO members (group_id, contact_id) VALUES (?, ?)",
                            (group_id, contact_id))

    def update_contact(self, contact: int | str, *, domain: str = SANDBOX_CREDENTIALS["domain"],
                       **fields: Any) -> None:
        """Overwrite stored fields, named as on the wire (``Firstname="Ann"``), of a contact given by
        ContactId or by its stored PhoneNumber (the lowest id wins)."""
        unknown = set(fields) - set(COLUMNS)
        if unknown:
            raise KeyError(f"unknown contact fields: {sorted(unknown)}")
        if not fields:
            return
        sets = ", ".join(f"{COLUMNS[name]} = ?" for name in fields)
        with self.lock:
            ident = self._contact_id(contact, domain)
            self.db.execute(f"UPDATE contacts SET {sets} WHERE id = ?", (*fields.values(), ident))

    def rename_contact(self, contact: int | str, first_name: str | None = None, last_name: str | None = None,
                       *, domain: str = SANDBOX_CREDENTIALS["domain"]) -> None:
        """Change a contact's names behind the reconciler's back (drift); a name left None is kept.

        ``contact`` is a ContactId or a stored PhoneNumber ("4790550001").
        """
        names = {"Firstname": first_name, "Lastname": last_name}
        self.update_contact(contact, domain=domain, **{k: v for k, v in names.items() if v is not None})

    def _contact_id(self, contact: int | str, domain: str) -> int:
        if isinstance(contact, int):
            return contact
        row = self.db.execute("SELECT id FROM contacts WHERE org = ? AND phone = ? ORDER BY id LIMIT 1",
                              (domain.lower(), contact)).fetchone()
        if row is None:
            raise KeyError(f"no contact stored with PhoneNumber {contact!r}")
        return int(row[0])

    def add_inbound(self, text: str, from_number: str, *, domain: str = SANDBOX_CREDENTIALS["domain"]) -> str:
        """Store an inbound SMS in the Inbox folder; return its MessageId."""
        with self.lock:
            folder = self.db.execute("SELECT id FROM folders WHERE org = ? AND type = 'Inbox'",
                                     (domain.lower(),)).fetchone()
            cur = self.db.execute(
                "INSERT INTO messages (org, direction, folder_id, text, receivers, sender, handled) "
                "VALUES (?, 'I', ?, ?, '', ?, ?)",
                (domain.lower(), folder["id"], text, from_number, self._now_ms()))
            return f"I_{cur.lastrowid}"

    def contacts(self, domain: str = SANDBOX_CREDENTIALS["domain"]) -> list[dict[str, Any]]:
        """Every contact of a domain as the API shows it, by ContactId."""
        with self.lock:
            rows = self.db.execute("SELECT * FROM contacts WHERE org = ? ORDER BY id", (domain.lower(),))
            return [contact_json(row) for row in rows.fetchall()]

    def groups(self, domain: str = SANDBOX_CREDENTIALS["domain"]) -> list[dict[str, Any]]:
        """Every group of a domain as the API shows it, by GroupId."""
        with self.lock:
            rows = self.db.execute("SELECT * FROM groups WHERE org = ? ORDER BY id", (domain.lower(),))
            return [group_json(row) for row in rows.fetchall()]

    def members(self, group_id: int) -> list[int]:
        """ContactIds in a group, ascending."""
        with self.lock:
            rows = self.db.execute("SELECT contact_id FROM members WHERE group_id = ? ORDER BY contact_id",
                                   (group_id,))
            return [int(r[0]) for r in rows.fetchall()]

    def bulk_load(self, groups: Iterable[str], contacts: Iterable[str | Mapping[str, Any]],
                  memberships: Iterable[tuple[str, str]], *,
                  domain: str = SANDBOX_CREDENTIALS["domain"]) -> tuple[dict[str, int], dict[str, int]]:
        """Load many items fast (benchmarks): group names, contacts, (group name, PhoneNumber) pairs.

        A contact is a PhoneNumber string or a mapping of wire field names. Returns the maps
        name -> GroupId and PhoneNumber -> ContactId (the last contact wins on duplicate numbers).
        """
        org, now = domain.lower(), self._now_ms()
        with self.lock:
            self.db.execute("BEGIN")
            try:
                self.db.executemany("INSERT INTO groups (org, name) VALUES (?, ?)",
                                    ((org, name) for name in groups))
                rows = ((org, *(c.get(f) for f in COLUMNS if f not in ("CPAAccepted", "IsPrivate")), now)
                        for c in ({"PhoneNumber": c} if isinstance(c, str) else c for c in contacts))
                self.db.executemany(
                    "INSERT INTO contacts (org, firstname, lastname, phone, email, description, "
                    "description2, description3, created) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)", rows)
                group_ids = {r[1]: r[0] for r in self.db.execute(
                    "SELECT id, name FROM groups WHERE org = ?", (org,))}
                contact_ids = {r[1]: r[0] for r in self.db.execute(
                    "SELECT id, phone FROM contacts WHERE org = ? ORDER BY id", (org,))}
                self.db.executemany("INSERT OR IGNORE INTO members (group_id, contact_id) VALUES (?, ?)",
                                    ((group_ids[g], contact_ids[c]) for g, c in memberships))
            except BaseException:
                self.db.execute("ROLLBACK")
                raise
            self.db.execute("COMMIT")
        return group_ids, contact_ids

    def _now_ms(self) -> int:
        return int(self.clock() * 1000)
