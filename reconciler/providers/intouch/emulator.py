"""The Intouch REST API as a WSGI app over SQLite (wire reference: ../shared/providers/intouch.md).

Served under ``/1`` (v1: creates answer 200 + the object) and ``/2`` (v2: creates answer 201 +
``Location`` + the bare id), section 1. Data is scoped per Intouch domain (the organisation), so
two users of one domain see the same contacts and groups. JSON only (XML is optional in the
brief and not modelled); request bodies may be JSON or form-encoded (section 3).
"""

from __future__ import annotations

import json
import re
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any

from werkzeug.wrappers import Request, Response

from reconciler.emulator import Emulator, Faults

SANDBOX_CREDENTIALS = {"username": "demo", "domain": "example.com", "password": "sandbox-intouch-password"}
THROTTLE_TEXT = "Number of allowed API requests per minute exceeded"  # section 3.2, exact body
ALL_FUNCTIONS = ("SEND_SMS", "SEND_WAP", "EDIT_GROUP", "EDIT_CONTACT", "READ_SMS", "ALLOW_API")
DEFAULT_SETTINGS = {
    "SENDER_ID": "Demo", "NUMBER_PREFIX": "47", "NUMBER_LENGTH": "10", "SENDER_EMAIL": "demo@example.com",
    "FREE_SENDER_ID": "False", "ALLOW_PRIVATE_MESSAGES": "True", "DEFAULT_ROWS_PER_PAGE": "50",
    "CUSTOM_REPORTS_FOLDER": "", "MAX_TARIFF": "0",
}
# Writable fields of each contract and their kind (section 4.2, 5.2, 6.2); anything else is ignored.
CONTACT_FIELDS = {"Firstname": "str", "Lastname": "str", "PhoneNumber": "str", "Email": "str",
                  "Description": "str", "Description2": "str", "Description3": "str",
                  "CPAAccepted": "bool", "IsPrivate": "bool"}
CONTACT_READONLY = ("ContactId", "CreatedDate")
GROUP_FIELDS = {"Name": "str", "Description": "str", "IsPrivate": "bool"}
MESSAGE_FIELDS = {"Text": "str", "Receivers": "str", "SenderNumber": "str", "HandledDate": "date",
                  "IsMergeMessage": "bool", "IsPrivate": "bool", "Tariff": "int", "MessageStatus": "str",
                  "FolderId": "int"}
_COLUMNS = {"Firstname": "firstname", "Lastname": "lastname", "PhoneNumber": "phone", "Email": "email",
            "Description": "description", "Description2": "description2", "Description3": "description3",
            "CPAAccepted": "cpa", "IsPrivate": "private"}
_PHONE = re.compile(r"^\+?\d+$")  # section 4.2 ASSUMPTION: digits and an optional leading "+"
_DATE = re.compile(r"^\\?/Date\((-?\d+)([+-]\d{4})?\)\\?/$")

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


class _Answer(Exception):
    """A finished response raised from deep inside a handler (an error status)."""

    def __init__(self, response: Response) -> None:
        super().__init__(response.status)
        self.response = response


def _fail(status: int, text: str = "") -> _Answer:
    return _Answer(Response(text, status=status, content_type="text/plain; charset=utf-8"))


def json_date(ms: int | None) -> str | None:
    """A Microsoft JSON date as this emulator emits it: ``/Date(<ms>+0000)/`` (section 3)."""
    return None if ms is None else f"/Date({ms}+0000)/"


class IntouchEmulator(Emulator):
    """The Intouch API for one or more users; the sandbox user is seeded on construction."""

    name = "intouch"
    schema = SCHEMA

    def __init__(self, db_path: str = ":memory:", *, rpm_limit: int | None = None,
                 faults: Faults | str | None = None, clock: Callable[[], float] = time.time) -> None:
        super().__init__(db_path, rpm_limit=rpm_limit, faults=faults, clock=clock)

    def setup(self) -> None:
        self.add_user(SANDBOX_CREDENTIALS["username"], SANDBOX_CREDENTIALS["domain"],
                      SANDBOX_CREDENTIALS["password"])

    # -- base hooks -------------------------------------------------------------------------------
    def throttle_response(self) -> Response:
        return Response(THROTTLE_TEXT, status=503, content_type="text/plain; charset=utf-8")

    def error_response(self, status: int) -> Response:
        return Response("Internal server error" if status >= 500 else "", status=status,
                        content_type="text/plain; charset=utf-8")

    def credential_of(self, request: Request) -> str:
        auth = request.authorization
        return (auth.username or "").lower() if auth and auth.type == "basic" else ""

    def handle(self, request: Request) -> Response:
        try:
            return self._dispatch(request)
        except _Answer as answer:
            return answer.response

    # -- routing ----------------------------------------------------------------------------------
    def _dispatch(self, request: Request) -> Response:
        parts = [p for p in request.path.split("/") if p]
        if not parts or parts[0] not in ("1", "2"):
            raise _fail(404)
        user = self._authenticate(request)
        method = request.method.upper()
        if method == "POST" and request.headers.get("X-HTTP-Method-Override"):  # section 3.3
            method = request.headers["X-HTTP-Method-Override"].strip().upper()
            if method not in ("GET", "POST", "PUT", "DELETE"):
                raise _fail(400, f"unknown X-HTTP-Method-Override {method!r}")
        ctx = _Context(self, request, user, parts[0], method)
        resource, rest = (parts[1], parts[2:]) if len(parts) > 1 else ("", [])
        routes: dict[str, Callable[[list[str]], Response]] = {
            "user": ctx.user_route, "contacts": ctx.contacts_route, "groups": ctx.groups_route,
            "messages": ctx.messages_route, "folders": ctx.folders_route,
        }
        route = routes.get(resource)
        if route is None:
            raise _fail(404)
        return route(rest)

    def _authenticate(self, request: Request) -> dict[str, Any]:
        """Section 2: Basic ``user@domain:password``; 406 with an empty body on any failure."""
        auth = request.authorization
        if auth is None or auth.type != "basic" or not auth.username or "@" not in auth.username:
            raise _fail(406)
        username, _, domain = auth.username.rpartition("@")
        sql = "SELECT * FROM users WHERE username = ? COLLATE NOCASE AND domain = ? COLLATE NOCASE"
        row = self.db.execute(sql, (username, domain)).fetchone()
        if row is None or row["password"] != (auth.password or ""):
            raise _fail(406)
        user = dict(row)
        user["functions"] = json.loads(row["functions"])
        if "ALLOW_API" not in user["functions"]:
            raise _fail(406)
        return user

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
        unknown = set(fields) - set(_COLUMNS)
        if unknown:
            raise KeyError(f"unknown contact fields: {sorted(unknown)}")
        if not fields:
            return
        sets = ", ".join(f"{_COLUMNS[name]} = ?" for name in fields)
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
                rows = ((org, *(c.get(f) for f in _COLUMNS if f not in ("CPAAccepted", "IsPrivate")), now)
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


def contact_json(row: Mapping[str, Any]) -> dict[str, Any]:
    """A stored contact in the wire contract of section 4.2 (alphabetical, as WCF emits it)."""
    return {"CPAAccepted": bool(row["cpa"]), "ContactId": row["id"], "CreatedDate": json_date(row["created"]),
            "Description": row["description"], "Description2": row["description2"],
            "Description3": row["description3"], "Email": row["email"], "Firstname": row["firstname"],
            "IsPrivate": bool(row["private"]), "Lastname": row["lastname"], "PhoneNumber": row["phone"]}


def group_json(row: Mapping[str, Any]) -> dict[str, Any]:
    """A stored group in the wire contract of section 5.2."""
    return {"Description": row["description"], "GroupId": row["id"], "IsPrivate": bool(row["private"]),
            "Name": row["name"]}


def parse_date(value: Any) -> int:
    """Milliseconds since the epoch from ``/Date(ms±hhmm)/``; raises a 400 answer otherwise."""
    match = _DATE.match(str(value).strip()) if isinstance(value, str) else None
    if match is None:
        raise _fail(400, f"invalid date {value!r} (expected /Date(milliseconds+0000)/)")
    return int(match.group(1))


def read_body(request: Request, fields: Mapping[str, str]) -> dict[str, Any]:
    """The request body as a dict of known fields, type-checked (section 3).

    JSON or form-encoded. A field spelled in the wrong case answers 406 (section 3: property names
    are case-sensitive); unknown fields are ignored, as a WCF service does.
    """
    if request.mimetype == "application/x-www-form-urlencoded":
        raw: Any = request.form.to_dict()
    else:
        try:
            raw = json.loads(request.get_data(as_text=True) or "null")
        except ValueError:
            raise _fail(400, "request body is not valid JSON") from None
    if not isinstance(raw, dict):
        raise _fail(400, "request body must be an object")
    lower = {name.lower(): name for name in fields}
    out: dict[str, Any] = {}
    for key, value in raw.items():
        if key not in fields:
            if key.lower() in lower:
                raise _fail(406)
            continue
        out[key] = _check_value(key, fields[key], value)
    return out


def _check_value(key: str, kind: str, value: Any) -> Any:
    if value is None:
        return None
    if kind == "bool":
        if isinstance(value, str) and value.lower() in ("true", "false"):
            return value.lower() == "true"
        if isinstance(value, bool):
            return value
    elif kind == "int":
        if isinstance(value, str) and value.lstrip("-").isdigit():
            return int(value)
        if isinstance(value, int) and not isinstance(value, bool):
            return value
    elif kind == "date":
        return parse_date(value)
    elif isinstance(value, (str, int)) and not isinstance(value, bool):
        return str(value)
    raise _fail(400, f"{key} has an invalid value")


def int_id(text: str) -> int:
    """A path id; a non-integer answers 405 (section 3.1)."""
    if not text.isdigit():
        raise _fail(405, f"{text!r} is not an integer id")
    return int(text)



class _Context:
    """One authenticated request: the user, the API version (``"1"``/``"2"``) and the method."""

    def __init__(self, emu: IntouchEmulator, request: Request, user: dict[str, Any], version: str,
                 method: str) -> None:
        self.emu = emu
        self.db = emu.db
        self.request = request
        self.user = user
        self.version = version
        self.method = method
        self.org = str(user["domain"]).lower()

    # -- answers ----------------------------------------------------------------------------------
    def require(self, function: str) -> None:
        """Section 8 ASSUMPTION: a missing permission is an authorisation failure (406)."""
        if function not in self.user["functions"]:
            raise _fail(406)

    def allow(self, *methods: str) -> None:
        if self.method not in methods:
            raise _fail(405, f"{self.method} is not allowed here (use {', '.join(methods)})")

    @staticmethod
    def json(data: Any, status: int = 200) -> Response:
        return Response(json.dumps(data), status=status, content_type="application/json; charset=utf-8")

    def created(self, kind: str, ident: int, data: dict[str, Any]) -> Response:
        """Section 4.1/5.1: v1 answers 200 + the object, v2 201 + Location + the bare id."""
        if self.version == "1":
            return self.json(data)
        response = self.json(ident, 201)
        response.headers["Location"] = f"{self.request.host_url}{self.version}/{kind}/{ident}"
        return response

    def done(self) -> Response:
        """Section 3.1: PUT and DELETE answer 204 without a body."""
        return Response(status=204)

    def now(self) -> int:
        return int(self.emu.clock() * 1000)

    # -- /user ------------------------------------------------------------------------------------
    def user_route(self, rest: list[str]) -> Response:
        if rest:
            raise _fail(404)
        self.allow("GET")
        settings = json.loads(self.user["settings"])
        return self.json({
            "AllowedFunctions": list(self.user["functions"]),
            "AllowedSenderIds": json.loads(self.user["sender_ids"]),
            "Organization": json.loads(self.user["organization"]),
            "Settings": [{"Name": name, "Value": value} for name, value in settings.items()],
        })

    # -- /contacts --------------------------------------------------------------------------------
    def contacts_route(self, rest: list[str]) -> Response:
        if not rest:
            self.allow("GET", "POST")
            if self.method == "GET":
                return self.json([contact_json(r) for r in self._contacts("")])
            return self._create_contact()
        if rest == ["count"]:
            self.allow("GET")
            count = self.db.execute("SELECT COUNT(*) FROM contacts WHERE org = ?", (self.org,)).fetchone()[0]
            return self.json(count)  # section 11.8 ASSUMPTION: a bare integer
        if len(rest) == 2 and rest[0] == "phonenumber":
            self.allow("GET")
            row = self.db.execute("SELECT * FROM contacts WHERE org = ? AND phone = ? ORDER BY id LIMIT 1",
                                  (self.org, rest[1])).fetchone()
            if row is None:
                raise _fail(404)
            return self.json(contact_json(row))
        if len(rest) == 2 and rest[0] == "search":
            self.allow("GET")
            return self.json([contact_json(r) for r in _search(self._contacts(""), rest[1])])
        if len(rest) != 1:
            raise _fail(404)
        self.allow("GET", "PUT", "DELETE")
        contact = self._contact(int_id(rest[0]))
        if self.method == "GET":
            return self.json(contact_json(contact))
        self.require("EDIT_CONTACT")
        if self.method == "DELETE":  # section 4.2 ASSUMPTION: memberships go with the contact
            self.db.execute("DELETE FROM contacts WHERE id = ?", (contact["id"],))
            return self.done()
        values = _contact_values(read_body(self.request, CONTACT_FIELDS))
        sets = ", ".join(f"{column} = ?" for column in values)
        self.db.execute(f"UPDATE contacts SET {sets} WHERE id = ?", (*values.values(), contact["id"]))
        return self.done()

    def _create_contact(self) -> Response:
        self.require("EDIT_CONTACT")
        values = _contact_values(read_body(self.request, CONTACT_FIELDS))
        columns = ", ".join(values)
        cur = self.db.execute(
            f"INSERT INTO contacts (org, created, {columns}) VALUES (?, ?, {', '.join('?' * len(values))})",
            (self.org, self.now(), *values.values()))
        ident = int(cur.lastrowid or 0)
        return self.created("contacts", ident, contact_json(self._contact(ident)))

    def _contacts(self, where: str, *args: Any) -> list[Any]:
        sql = f"SELECT c.* FROM contacts c {where} {'AND' if where else 'WHERE'} c.org = ? ORDER BY c.id"
        return self.db.execute(sql, (*args, self.org)).fetchall()

    def _contact(self, ident: int) -> Any:
        row = self.db.execute("SELECT * FROM contacts WHERE id = ? AND org = ?", (ident, self.org)).fetchone()
        if row is None:
            raise _fail(404)
        return row

    # -- /groups ----------------------------------------------------------------------------------
    def groups_route(self, rest: list[str]) -> Response:
        if not rest:
            self.allow("GET", "POST")
            if self.method == "GET":
                rows = self.db.execute("SELECT * FROM groups WHERE org = ? ORDER BY id", (self.org,))
                return self.json([group_json(r) for r in rows.fetchall()])
            self.require("EDIT_GROUP")
            values = self._group_values(None)
            cur = self.db.execute("INSERT INTO groups (org, name, description, private) VALUES (?, ?, ?, ?)",
                                  (self.org, *values))
            ident = int(cur.lastrowid or 0)
            return self.created("groups", ident, group_json(self._group(ident)))
        group = self._group(int_id(rest[0]))
        if len(rest) == 1:
            return self._one_group(group)
        if rest[1] != "contacts":
            raise _fail(404)
        members = "JOIN members m ON m.contact_id = c.id WHERE m.group_id = ?"
        if len(rest) == 2:
            self.allow("GET")
            return self.json([contact_json(r) for r in self._contacts(members, group["id"])])
        if len(rest) == 4 and rest[2] == "search":
            self.allow("GET")
            found = _search(self._contacts(members, group["id"]), rest[3])
            return self.json([contact_json(r) for r in found])
        if len(rest) != 3:
            raise _fail(404)
        self.allow("PUT", "DELETE")
        contact = self._contact(int_id(rest[2]))
        self.require("EDIT_GROUP")
        pair = (group["id"], contact["id"])
        if self.method == "PUT":  # section 5.2 ASSUMPTION: adding an existing member is a no-op 204
            self.db.execute("INSERT OR IGNORE INTO members (group_id, contact_id) VALUES (?, ?)", pair)
            return self.done()
        cur = self.db.execute("DELETE FROM members WHERE group_id = ? AND contact_id = ?", pair)
        if cur.rowcount == 0:  # section 5.2 ASSUMPTION: removing a non-member is 404
            raise _fail(404)
        return self.done()

    def _one_group(self, group: Any) -> Response:
        self.allow("GET", "PUT", "DELETE")
        if self.method == "GET":
            return self.json(group_json(group))
        self.require("EDIT_GROUP")
        if self.method == "DELETE":  # section 5.2 ASSUMPTION: the contacts stay
            self.db.execute("DELETE FROM groups WHERE id = ?", (group["id"],))
            return self.done()
        values = self._group_values(group["id"])
        self.db.execute("UPDATE groups SET name = ?, description = ?, private = ? WHERE id = ?",
                        (*values, group["id"]))
        return self.done()

    def _group_values(self, own_id: int | None) -> tuple[str, str | None, int]:
        """Name, Description, IsPrivate from the body; omitted -> null/false (full replace)."""
        body = read_body(self.request, GROUP_FIELDS)
        name = (body.get("Name") or "").strip()
        if not name:
            raise _fail(400, "Name is required")
        clash = self.db.execute("SELECT id FROM groups WHERE org = ? AND name = ? AND id IS NOT ?",
                                (self.org, name, own_id)).fetchone()
        if clash is not None:  # section 5.2 ASSUMPTION: duplicate names are rejected
            raise _fail(400, f"a group named {name!r} already exists")
        return name, body.get("Description"), int(bool(body.get("IsPrivate")))

    def _group(self, ident: int) -> Any:
        row = self.db.execute("SELECT * FROM groups WHERE id = ? AND org = ?", (ident, self.org)).fetchone()
        if row is None:
            raise _fail(404)
        return row

    # -- /messages --------------------------------------------------------------------------------
    def messages_route(self, rest: list[str]) -> Response:
        if not rest:
            self.allow("POST")
            self.require("SEND_SMS")
            return self._send()
        if len(rest) != 1:
            raise _fail(404)
        self.allow("GET", "DELETE")
        match = re.fullmatch(r"[IO]_(\d+)", rest[0])
        row = match and self.db.execute("SELECT * FROM messages WHERE id = ? AND org = ?",
                                        (int(match.group(1)), self.org)).fetchone()
        if not row or rest[0][0] != row["direction"]:
            raise _fail(404)
        if self.method == "GET":
            return self.json(self._message_json(row))
        self.require("SEND_SMS")  # section 6.1: deleting an unsent message cancels it
        self.db.execute("DELETE FROM messages WHERE id = ?", (row["id"],))
        return self.done()

    def _send(self) -> Response:
        """Section 6 ASSUMPTIONS: validate text, receivers and sender; store in the Outbox."""
        body = read_body(self.request, MESSAGE_FIELDS)
        text, receivers = body.get("Text") or "", body.get("Receivers") or ""
        if not text.strip() or not receivers.strip():
            raise _fail(400, "Text and Receivers are required")
        for receiver in (r.strip() for r in receivers.split(";") if r.strip()):
            ref = re.fullmatch(r"/(contacts|groups)/(\d+)", receiver)
            if ref:
                table = "contacts" if ref.group(1) == "contacts" else "groups"
                if not self.db.execute(f"SELECT 1 FROM {table} WHERE id = ? AND org = ?",
                                       (int(ref.group(2)), self.org)).fetchone():
                    raise _fail(400, f"unknown receiver {receiver}")
            elif not _PHONE.match(receiver):
                raise _fail(400, f"invalid receiver {receiver!r}")
        settings = json.loads(self.user["settings"])
        sender = body.get("SenderNumber") or settings.get("SENDER_ID", "")
        allowed = json.loads(self.user["sender_ids"])
        if settings.get("FREE_SENDER_ID", "False") != "True" and sender not in allowed:
            raise _fail(400, f"sender {sender!r} is not allowed for this user")
        folder = self.db.execute("SELECT id FROM folders WHERE org = ? AND type = 'Outbox'",
                                 (self.org,)).fetchone()
        handled = body.get("HandledDate") or self.now()
        cur = self.db.execute(
            "INSERT INTO messages (org, direction, folder_id, text, receivers, sender, handled, is_merge, "
            "private, tariff) VALUES (?, 'O', ?, ?, ?, ?, ?, ?, ?, ?)",
            (self.org, folder["id"] if folder else None, text, receivers, sender, handled,
             int(bool(body.get("IsMergeMessage"))), int(bool(body.get("IsPrivate"))),
             body.get("Tariff") or 0))
        row = self.db.execute("SELECT * FROM messages WHERE id = ?", (cur.lastrowid,)).fetchone()
        return self.json(self._message_json(row))

    def _message_json(self, row: Any) -> dict[str, Any]:
        if row["direction"] == "I":
            status = "Unknown"
        else:
            status = "Scheduled" if row["handled"] > self.now() else "Sent"
        return {"FolderId": row["folder_id"], "HandledDate": json_date(row["handled"]),
                "IsMergeMessage": bool(row["is_merge"]), "IsPrivate": bool(row["private"]),
                "MessageId": f"{row['direction']}_{row['id']}", "MessageStatus": status,
                "Receivers": row["receivers"], "SenderNumber": row["sender"], "Tariff": row["tariff"],
                "Text": row["text"]}

    # -- /folders ---------------------------------------------------------------------------------
    def folders_route(self, rest: list[str]) -> Response:
        self.allow("GET")
        self.require("READ_SMS")
        if not rest:
            rows = self.db.execute(
                "SELECT f.*, (SELECT COUNT(*) FROM messages m WHERE m.folder_id = f.id) AS n "
                "FROM folders f WHERE org = ? ORDER BY id", (self.org,)).fetchall()
            return self.json(_folder_tree(rows, None))
        if len(rest) != 2 or rest[1] != "messages":
            raise _fail(404)
        folder_id = int_id(rest[0])
        if not self.db.execute("SELECT 1 FROM folders WHERE id = ? AND org = ?",
                               (folder_id, self.org)).fetchone():
            raise _fail(404)
        rows = self.db.execute("SELECT * FROM messages WHERE folder_id = ? ORDER BY id",
                               (folder_id,)).fetchall()
        base = f"{self.request.host_url}{self.version}/messages/"
        return self.json([{
            "DeliverStatus": "Unknown", "DeliverTime": None, "Direction": r["direction"],
            "From": r["sender"], "FromNumber": r["sender"], "MessageId": f"{r['direction']}_{r['id']}",
            "MessageType": "SMS", "ResourceURI": f"{base}{r['direction']}_{r['id']}",
            "SendReceiveTime": json_date(r["handled"]), "Text": r["text"], "To": r["receivers"],
        } for r in rows])


def _contact_values(body: Mapping[str, Any]) -> dict[str, Any]:
    """Column values of a POST/PUT contact body: every writable field, omitted -> null/false."""
    phone = body.get("PhoneNumber")
    if not phone or not _PHONE.match(phone):
        raise _fail(400, "PhoneNumber is required: digits with an optional leading +")
    return {column: (int(bool(body.get(name))) if CONTACT_FIELDS[name] == "bool" else body.get(name))
            for name, column in _COLUMNS.items()}


def _search(rows: Iterable[Any], text: str) -> list[Any]:
    """Section 4.1: every space-separated term matches some field (case-insensitive substring)."""
    terms = [t.lower() for t in text.split() if t]
    fields = ("firstname", "lastname", "description", "description2", "description3", "email", "phone")
    found = []
    for row in rows:
        haystack = [str(row[f]).lower() for f in fields if row[f]]
        if all(any(term in value for value in haystack) for term in terms):
            found.append(row)
    return found


def _folder_tree(rows: Sequence[Any], parent: int | None) -> list[dict[str, Any]]:
    return [{"FolderId": r["id"], "FolderType": r["type"], "IsPrivate": bool(r["private"]),
             "IsUserDeletable": bool(r["deletable"]), "MessagesInFolder": r["n"], "Name": r["name"],
             "ParentFolderId": r["parent_id"], "SubFolders": _folder_tree(rows, r["id"])}
            for r in rows if r["parent_id"] == parent]
