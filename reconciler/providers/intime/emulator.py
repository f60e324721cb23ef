"""The InTime Messenger HTTP API 1.0 as a WSGI app over SQLite (../shared/providers/intime.md).

Served under ``/api/1.0/``. Every function of the reference is here with its exact element names
(the ``deletigroup`` spelling and ``<deletigroups>`` root included), ``user``/``hash`` query
authentication, ISO-8859-1 XML bodies, plain-text id lists and ``N:ERRORM`` codes answered with
HTTP 200. Dates are Swedish local time (Europe/Stockholm) taken from ``self.clock``; a message
with a future ``senddate`` is "scheduled" until then and "sent" afterwards.

Throttling is not defined by the reference; over ``rpm_limit`` the emulator answers HTTP 503
``text/plain`` "Too many requests" (an ASSUMPTION documented in docs/providers/intime.md).
Test helpers (``groups()``, ``contacts()``, ``nix()``, ``reminders()``, ``messages()``,
``add_group``, ``add_reminder`` ...) inspect and tamper with the SQLite data directly.
"""

from __future__ import annotations

import json
import re
import time
import xml.etree.ElementTree as ET
from collections.abc import Callable, Iterable
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import defusedxml.ElementTree as SafeET
from defusedxml import DefusedXmlException
from werkzeug.wrappers import Request, Response

from reconciler.emulator import Emulator, Faults

SANDBOX_CREDENTIALS = {"user": "demo", "hash": "0123456789abcdef0123456789abcdef01234567"}
PREFIX = "/api/1.0/"
DECLARATION = '<?xml version="1.0" encoding="iso-8859-1"?>\n'
TZ = ZoneInfo("Europe/Stockholm")
INPUT_DATE = "%Y-%m-%dT%H:%M:%S"  # section 4.1 / 7.2 input format
OUTPUT_DATE = "%Y-%m-%d %H:%M"  # section 7.1 listing format
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

REMINDER_FIELDS = frozenset(
    {
        "appointmentdate",
        "organizer_firstname",
        "organizer_lastname",
        "organizer_title",
        "attendant_firstname",
        "attendant_lastname",
        "attendant_mobile",
    }
)
MESSAGE_FIELDS = frozenset(
    {
        "flash",
        "multisms",
        "senddate",
        "sendertitle",
        "body",
        "statusurl",
        "checknix",
        "anonymize",
        "recipients",
        "groups",
    }
)
CONTACT_FIELDS = frozenset({"type", "firstname", "lastname", "email", "mobile", "extrafield", "groups"})
_MOBILE = re.compile(r"^(\+\d{8,15}|0\d{6,12})$")  # section 5.1 ASSUMPTION
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
_ALNUM_TITLE = re.compile(r"^[A-Za-z0-9 .+-]{1,11}$")  # section 4.1 sendertitle
_NUMERIC_TITLE = re.compile(r"^\+?[0-9]{1,15}$")


class _Fail(Exception):
    """An InTime error code answer; the request's writes are rolled back."""

    def __init__(self, code: str) -> None:
        super().__init__(code)
        self.code = code


def clean_mobile(raw: str) -> str:
    return re.sub(r"[\s-]", "", raw or "")


def valid_mobile(raw: str) -> bool:
    return bool(_MOBILE.match(clean_mobile(raw)))


def norm_mobile(raw: str) -> str:
    """Section 9.5: strip spaces/dashes; ``00`` -> ``+``; a leading single ``0`` -> ``+46``."""
    text = clean_mobile(raw)
    if text.startswith("00"):
        return "+" + text[2:]
    if text.startswith("0"):
        return "+46" + text[1:]
    return text


def valid_sender_title(title: str) -> bool:
    return bool(_NUMERIC_TITLE.match(title) or _ALNUM_TITLE.match(title))


def _plain(text: str, status: int = 200) -> Response:
    return Response(text.encode("iso-8859-1"), status=status, content_type="text/plain; charset=iso-8859-1")


def _xml(root: ET.Element) -> Response:
    text = DECLARATION + ET.tostring(root, encoding="unicode", short_empty_elements=False)
    return Response(
        text.encode("iso-8859-1", "xmlcharrefreplace"), content_type="text/xml; charset=iso-8859-1"
    )


def _parse(body: bytes) -> ET.Element:
    """Parse a request body; a missing declaration means ISO-8859-1 (section 3, lenient)."""
    if not body.lstrip().startswith(b"<?xml"):
        body = DECLARATION.encode("ascii") + body.lstrip()
    try:
        root: ET.Element = SafeET.fromstring(body)
    except (ET.ParseError, DefusedXmlException, ValueError):
        raise _Fail("1:ERROR1") from None
    return root


def _fields(element: ET.Element, allowed: Iterable[str]) -> dict[str, ET.Element]:
    """Children by name; an unknown or repeated element name fails XML validation (1:ERROR1)."""
    out: dict[str, ET.Element] = {}
    allowed = frozenset(allowed)
    for child in element:
        if child.tag not in allowed or child.tag in out:
            raise _Fail("1:ERROR1")
        out[child.tag] = child
    return out


def _items(element: ET.Element | None, tag: str) -> list[ET.Element]:
    """The children of a list element, which must all be ``tag``."""
    if element is None:
        return []
    children = list(element)
    if any(child.tag != tag for child in children):
        raise _Fail("1:ERROR1")
    return children


def _single(root: ET.Element, root_tag: str, list_tag: str, item_tag: str) -> list[ET.Element]:
    """``<root><list><item/>...</list></root>`` with at least one item."""
    if root.tag != root_tag:
        raise _Fail("1:ERROR1")
    items = _items(_fields(root, {list_tag}).get(list_tag), item_tag)
    if not items:
        raise _Fail("1:ERROR1")
    return items


def _text(element: ET.Element | None) -> str | None:
    return None if element is None else (element.text or "").strip()


def _flag(element: ET.Element | None) -> bool:
    """A ``0``/``1`` element (``true``/``false`` accepted too); absent or empty means 0."""
    text = _text(element)
    return _bool_attr(text) if text else False


def _bool_attr(value: str | None) -> bool:
    """``true/false/1/0`` case-insensitively (section 5.4 ASSUMPTION); absent means false."""
    if value is None:
        return False
    lowered = value.strip().lower()
    if lowered in ("true", "1"):
        return True
    if lowered in ("false", "0"):
        return False
    raise _Fail("1:ERROR1")


def _int(value: str | None, code: str = "1:ERROR1") -> int:
    try:
        return int((value or "").strip())
    except ValueError:
        raise _Fail(code) from None


def _date(value: str | None) -> datetime:
    try:
        return datetime.strptime((value or "").strip(), INPUT_DATE)
    except ValueError:
        raise _Fail("1:ERROR1") from None


class IntimeEmulator(Emulator):
    """InTime Messenger API 1.0 under ``/api/1.0/``; seeds the ``SANDBOX_CREDENTIALS`` account."""

    name = "intime"
    schema = SCHEMA

    def __init__(
        self,
        db_path: str = ":memory:",
        *,
        rpm_limit: int | None = None,
        faults: Faults | str | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        super().__init__(db_path, rpm_limit=rpm_limit, faults=faults, clock=clock)
        self.last_request: dict[str, Any] | None = None  # for tests: method, path, content_type, body
        self.routes: dict[str, tuple[str, Callable[..., Response]]] = {
            "message/create.ashx": ("write", self._message_create),
            "message/delete.ashx": ("write", self._message_delete),
            "contacts/add.ashx": ("write", self._contacts_add),
            "contacts/listgroups.ashx": ("list", self._list_groups),
            "contacts/addgroup.ashx": ("write", self._add_groups),
            "contacts/deletigroup.ashx": ("write", self._delete_groups),  # sic, section 1
            "nix/list.ashx": ("list", self._list_nix),
            "nix/addnix.ashx": ("write", self._add_nix),
            "nix/deletenix.ashx": ("write", self._delete_nix),
            "reminder/list.ashx": ("list", self._list_reminders),
            "reminder/add.ashx": ("write", self._add_reminders),
            "reminder/edit.ashx": ("write", self._edit_reminders),
        }

    def setup(self) -> None:
        for table, first in FIRST_IDS.items():
            self.db.execute(
                "INSERT INTO sqlite_sequence (name, seq) SELECT ?, ? WHERE NOT EXISTS "
                "(SELECT 1 FROM sqlite_sequence WHERE name = ?)",
                (table, first, table),
            )
        self.add_user(SANDBOX_CREDENTIALS["user"], SANDBOX_CREDENTIALS["hash"], alias="InTime Demo")

    # -- framework hooks ------------------------------------------------------------------------
    def throttle_response(self) -> Response:
        return _plain("Too many requests", status=503)

    def credential_of(self, request: Request) -> str:
        return request.args.get("user", "")

    def now(self) -> datetime:
        """The emulator's Swedish wall-clock time."""
        return datetime.fromtimestamp(self.clock(), TZ).replace(tzinfo=None)

    def handle(self, request: Request) -> Response:
        route = (
            self.routes.get(request.path.removeprefix(PREFIX)) if request.path.startswith(PREFIX) else None
        )
        if route is None:
            return _plain("Not Found", status=404)
        kind, handler = route
        self.last_request = {
            "method": request.method,
            "path": request.path,
            "body": request.get_data(),
            "content_type": request.headers.get("Content-Type", ""),
        }
        allowed = ("GET", "POST") if kind == "list" else ("POST",)
        if request.method not in allowed:
            response = _plain("Method Not Allowed", status=405)
            response.headers["Allow"] = ", ".join(allowed)
            return response
        self.db.execute("SAVEPOINT call")
        try:
            user = self._authenticate(request)
            if kind == "list":
                response = handler(user, request)
            else:
                body = request.get_data()
                if not body.strip():
                    raise _Fail("0:ERROR2")
                response = handler(user, _parse(body))
        except _Fail as fail:
            self.db.execute("ROLLBACK TO call")
            response = _plain(fail.code)
        self.db.execute("RELEASE call")
        return response

    def _authenticate(self, request: Request) -> str:
        user, secret = request.args.get("user", ""), request.args.get("hash", "")
        if not user or not secret:
            raise _Fail("0:ERROR1")
        row = self.db.execute("SELECT hash FROM users WHERE user = ?", (user,)).fetchone()
        if row is None or row["hash"] != secret:
            raise _Fail("0:ERROR3")
        return user

    # -- messages (section 4) -------------------------------------------------------------------
    def _message_create(self, user: str, root: ET.Element) -> Response:
        if root.tag != "message":
            raise _Fail("1:ERROR1")
        f = _fields(root, MESSAGE_FIELDS)
        flash, multisms = _flag(f.get("flash")), _flag(f.get("multisms"))
        checknix, anonymize = _flag(f.get("checknix")), _flag(f.get("anonymize"))
        title, body = _text(f.get("sendertitle")) or "", _text(f.get("body")) or ""
        if not valid_sender_title(title) or not body:
            raise _Fail("1:ERROR1")
        if len(body) > (160 if flash or not multisms else 804):
            raise _Fail("1:ERROR1")
        senddate = None
        if "senddate" in f:  # an empty element is not allowed; omit it to send now
            when = _date(_text(f["senddate"]))
            if when < self.now():
                raise _Fail("1:ERROR2")
            senddate = when.strftime(INPUT_DATE)
        statusurl = _text(f.get("statusurl")) or None
        recipients: list[tuple[str, str]] = []
        for item in _items(f.get("recipients"), "recipient"):
            number, transid = _text(item) or "", item.get("transid") or ""
            if statusurl and not transid:
                raise _Fail("1:ERROR1")
            if not valid_mobile(number):
                raise _Fail("1:ERROR3")
            recipients.append((number, transid))
        group_ids = [_int(item.get("groupid")) for item in _items(f.get("groups"), "group")]
        if not recipients and not group_ids:
            raise _Fail("2:ERROR2")
        audience = {norm_mobile(number): None for number, _ in recipients}
        blocked = {row["norm"] for row in self.db.execute("SELECT norm FROM nix WHERE user = ?", (user,))}
        for gid in group_ids:
            if not self._group_exists(user, gid):
                raise _Fail("1:ERROR3")
            for row in self.db.execute(
                "SELECT c.mobile FROM contacts c JOIN memberships m ON m.contact_id = c.id "
                "WHERE m.group_id = ? AND c.type IN (1, 3)",
                (gid,),
            ):
                if not (checknix and norm_mobile(row["mobile"]) in blocked):
                    audience[norm_mobile(row["mobile"])] = None
        if not audience:
            raise _Fail("2:ERROR2")
        cur = self.db.execute(
            "INSERT INTO messages (user, created, senddate, sendertitle, body, flash, multisms, statusurl,"
            " checknix,"
            " anonymize, recipients, groups, audience) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (
                user,
                self.now().strftime(INPUT_DATE),
                senddate,
                title,
                body,
                flash,
                multisms,
                statusurl,
                checknix,
                anonymize,
                json.dumps(recipients),
                json.dumps(group_ids),
                json.dumps(list(audience)),
            ),
        )
        return _plain(str(cur.lastrowid))

    def _message_delete(self, user: str, root: ET.Element) -> Response:
        if root.tag != "message":
            raise _Fail("1:ERROR1")
        message_id = _int(_text(_fields(root, {"messageid"}).get("messageid")), "2:ERROR1")
        row = self.db.execute(
            "SELECT * FROM messages WHERE id = ? AND user = ?", (message_id, user)
        ).fetchone()
        if row is None or self._status(row) != "scheduled":  # section 4.2 ASSUMPTION
            raise _Fail("2:ERROR2")
        self.db.execute("UPDATE messages SET deleted = 1 WHERE id = ?", (message_id,))
        return _plain(str(message_id))

    def _status(self, row: Any) -> str:
        if row["deleted"]:
            return "deleted"
        if row["senddate"] is None or datetime.strptime(row["senddate"], INPUT_DATE) <= self.now():
            return "sent"
        return "scheduled"

    # -- contacts and groups (section 5) -----------------------------------------------------------
    def _group_exists(self, user: str, group_id: int) -> bool:
        return (
            self.db.execute("SELECT 1 FROM groups WHERE id = ? AND user = ?", (group_id, user)).fetchone()
            is not None
        )

    def _contacts_add(self, user: str, root: ET.Element) -> Response:
        if root.tag != "contacts":
            raise _Fail("1:ERROR1")
        items = _items(root, "contact")
        if not items:
            raise _Fail("1:ERROR1")
        ids = []
        for item in items:  # all-or-nothing: a failure rolls the savepoint back
            f = _fields(item, CONTACT_FIELDS)
            kind = _int(_text(f.get("type")))
            if kind not in (1, 2, 3):
                raise _Fail("1:ERROR1")
            mobile, email = _text(f.get("mobile")) or "", _text(f.get("email")) or ""
            if (kind in (1, 3) or mobile) and not valid_mobile(mobile):
                raise _Fail("3:ERROR2")
            if (kind in (2, 3) or email) and not _EMAIL.match(email):
                raise _Fail("3:ERROR1")
            groups = [_int(g.get("groupid")) for g in _items(f.get("groups"), "group")]
            if not all(self._group_exists(user, gid) for gid in groups):
                raise _Fail("2:ERROR1")
            cur = self.db.execute(
                "INSERT INTO contacts (user, type, firstname, lastname, email, mobile, extrafield) "
                "VALUES (?, ?, ?, ?, ?, ?, ?)",
                (
                    user,
                    kind,
                    _text(f.get("firstname")) or "",
                    _text(f.get("lastname")) or "",
                    email,
                    mobile,
                    _text(f.get("extrafield")) or "",
                ),
            )
            for gid in dict.fromkeys(groups):
                self.db.execute(
                    "INSERT INTO memberships (contact_id, group_id) VALUES (?, ?)", (cur.lastrowid, gid)
                )
            ids.append(str(cur.lastrowid))
        return _plain(",".join(ids))

    def _list_groups(self, user: str, request: Request) -> Response:
        rows = self.db.execute("SELECT id, name FROM groups WHERE user = ? ORDER BY id", (user,)).fetchall()
        if not rows:
            raise _Fail("2:ERROR1")
        root = ET.Element("groups")
        for row in rows:
            ET.SubElement(root, "group", groupid=str(row["id"])).text = row["name"]
        return _xml(root)

    def _add_groups(self, user: str, root: ET.Element) -> Response:
        ids = []
        for item in _single(root, "addgroups", "groups", "group"):
            name = (item.get("groupname") or "").strip()
            if not name:
                raise _Fail("1:ERROR1")
            ids.append(
                str(self.db.execute("INSERT INTO groups (user, name) VALUES (?, ?)", (user, name)).lastrowid)
            )
        return _plain(",".join(ids))

    def _delete_groups(self, user: str, root: ET.Element) -> Response:
        removed = []
        for item in _single(root, "deletigroups", "groups", "group"):
            gid, cascade = _int(item.get("groupid")), _bool_attr(item.get("deletecontacts"))
            if not self._group_exists(user, gid):
                continue  # section 5.4 ASSUMPTION: unknown ids are skipped
            if cascade:
                self.db.execute(
                    "DELETE FROM contacts WHERE id IN (SELECT contact_id FROM memberships "
                    "WHERE group_id = ?)",
                    (gid,),
                )
            self.db.execute("DELETE FROM groups WHERE id = ?", (gid,))
            removed.append(str(gid))
        if not removed:
            raise _Fail("2:ERROR1")
        return _plain(",".join(removed))

    # -- block list (section 6) -----------------------------------------------------------------
    def _list_nix(self, user: str, request: Request) -> Response:
        rows = self.db.execute("SELECT mobile FROM nix WHERE user = ? ORDER BY id", (user,)).fetchall()
        if not rows:
            raise _Fail("2:ERROR1")
        names: dict[str, tuple[str, str]] = {}
        for row in self.db.execute(
            "SELECT mobile, firstname, lastname FROM contacts WHERE user = ? AND mobile != '' ORDER BY id",
            (user,),
        ):
            names.setdefault(norm_mobile(row["mobile"]), (row["firstname"], row["lastname"]))
        root = ET.Element("nixentries")
        for row in rows:
            entry = ET.SubElement(root, "nixentry")
            first, last = names.get(norm_mobile(row["mobile"]), ("", ""))
            ET.SubElement(entry, "mobile").text = row["mobile"]
            ET.SubElement(entry, "firstname").text = first
            ET.SubElement(entry, "lastname").text = last
        return _xml(root)

    def _add_nix(self, user: str, root: ET.Element) -> Response:
        ids = []
        for item in _single(root, "addnixentries", "nixentries", "nixentry"):
            mobile = item.get("mobile")
            if mobile is None:
                raise _Fail("1:ERROR1")
            if not valid_mobile(mobile):
                raise _Fail("2:ERROR1")
            norm = norm_mobile(mobile)
            row = self.db.execute("SELECT id FROM nix WHERE user = ? AND norm = ?", (user, norm)).fetchone()
            if row is None:  # section 6.2 ASSUMPTION: adding a blocked number returns its existing id
                row = {
                    "id": self.db.execute(
                        "INSERT INTO nix (user, mobile, norm) VALUES (?, ?, ?)", (user, mobile.strip(), norm)
                    ).lastrowid
                }
            ids.append(str(row["id"]))
        return _plain(",".join(ids))

    def _delete_nix(self, user: str, root: ET.Element) -> Response:
        removed = []
        for item in _single(root, "deletenixentries", "nixentries", "nixentry"):
            mobile = item.get("mobile")
            if mobile is None:
                raise _Fail("1:ERROR1")
            for row in self.db.execute(
                "SELECT id FROM nix WHERE user = ? AND norm = ?", (user, norm_mobile(mobile))
            ).fetchall():
                self.db.execute("DELETE FROM nix WHERE id = ?", (row["id"],))
                removed.append(str(row["id"]))
        if not removed:
            raise _Fail("2:ERROR1")
        return _plain(",".join(removed))

    # -- reminders (section 7) --------------------------------------------------------------------
    def _list_reminders(self, user: str, request: Request) -> Response:
        sql, args = "SELECT * FROM reminders WHERE user = ?", [user]
        if "id" in request.args:
            sql = sql + " AND id = ?"
            args.append(str(_int(request.args["id"], "2:ERROR1")))
        rows = self.db.execute(sql + " ORDER BY id", args).fetchall()
        if not rows:
            raise _Fail("2:ERROR1")
        account = self.db.execute("SELECT * FROM users WHERE user = ?", (user,)).fetchone()
        root = ET.Element("reminderappointments")
        for row in rows:
            derived = self._derived(row, account)
            item = ET.SubElement(root, "reminderappointment")
            for name, value in (
                ("appointmentId", str(row["id"])),
                ("appointmentDate", derived["appointment"]),
                ("userId", str(account["user_id"])),
                ("userIdentity", ""),
                ("userAlias", account["alias"]),
                ("active", "true" if row["active"] else "false"),
                ("messageDate", derived["message_date"]),
                ("messageText", derived["message_text"]),
            ):
                ET.SubElement(item, name).text = value
            organizer = ET.SubElement(item, "organizer")
            for name, column in (
                ("title", "organizer_title"),
                ("firstname", "organizer_firstname"),
                ("lastname", "organizer_lastname"),
            ):
                ET.SubElement(organizer, name).text = row[column]
            attendant = ET.SubElement(item, "attendant")
            for name, column in (
                ("firstname", "attendant_firstname"),
                ("lastname", "attendant_lastname"),
                ("mobile", "attendant_mobile"),
            ):
                ET.SubElement(attendant, name).text = row[column]
        return _xml(root)

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

    def _reminder_values(self, f: dict[str, ET.Element]) -> dict[str, str]:
        """Columns to write from one reminder element; formats are checked here."""
        values = {name: _text(el) or "" for name, el in f.items() if name in REMINDER_FIELDS}
        if "appointmentdate" in values:
            values["appointment"] = _date(values.pop("appointmentdate")).strftime(INPUT_DATE)
        if "attendant_mobile" in values and not valid_mobile(values["attendant_mobile"]):
            raise _Fail("2:ERROR1")
        return values

    def _add_reminders(self, user: str, root: ET.Element) -> Response:
        if root.tag != "reminderappointments":
            raise _Fail("1:ERROR1")
        items = _items(root, "reminderappointment")
        if not items:
            raise _Fail("1:ERROR1")
        ids = []
        for item in items:
            f = _fields(item, REMINDER_FIELDS)
            if "appointmentdate" not in f or "attendant_mobile" not in f:
                raise _Fail("1:ERROR1")
            values = self._reminder_values(f)
            ids.append(str(self._insert_reminder(user, values)))
        return _plain(",".join(ids))

    def _insert_reminder(self, user: str, values: dict[str, Any]) -> int:
        columns = ["user", *values]
        sql = f"INSERT INTO reminders ({', '.join(columns)}) VALUES ({', '.join('?' for _ in columns)})"
        return int(self.db.execute(sql, [user, *values.values()]).lastrowid or 0)

    def _edit_reminders(self, user: str, root: ET.Element) -> Response:
        if root.tag != "reminderappointments":
            raise _Fail("1:ERROR1")
        items = _items(root, "reminderappointment")
        if not items:
            raise _Fail("1:ERROR1")
        edits = []
        for item in items:  # validate every item before changing any
            f = _fields(item, REMINDER_FIELDS | {"appointmentid", "active"})
            if "appointmentid" not in f:
                raise _Fail("1:ERROR1")
            active = None if "active" not in f else _flag(f["active"])
            edits.append((_int(_text(f["appointmentid"])), active, self._reminder_values(f)))
        results, unknown = [], 0
        for rid, active, values in edits:
            row = self.db.execute(
                "SELECT active FROM reminders WHERE id = ? AND user = ?", (rid, user)
            ).fetchone()
            if row is None or not row["active"]:  # section 7.3: only active reminders can be changed
                unknown += row is None
                results.append(str(-rid))
                continue
            if active is False:
                values = {**values, "active": "0"}
            if values:
                assignments = ", ".join(f"{column} = ?" for column in values)
                self.db.execute(f"UPDATE reminders SET {assignments} WHERE id = ?", [*values.values(), rid])
            results.append(str(rid))
        if unknown == len(edits):
            raise _Fail("2:ERROR1")
        return _plain(",".join(results))

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
