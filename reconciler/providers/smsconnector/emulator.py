"""The 82830 SMSConnector Web API as a WSGI app over SQLite (../shared/providers/smsconnector.md).

Served under ``/api/``; routes match case-insensitively (section 1). Every application answer is
HTTP 200 with the ``StatusEnum/Status/Result`` envelope and the emulator status table of section
3.2 (0 Success .. 5 Failed); framework errors are 404/405/400/415/500 with ``{"Message": ...}``
(section 3.3). JSON only: XML requests get 415 and responses are always JSON (XML is optional in
the reference). Session tokens are 32 hex characters and expire after ``session_idle_seconds``
without use, measured with ``clock``.

Choices where the reference is silent (ASSUMPTION, also in docs/providers/smsconnector.md):
- AddMultipleEntries takes at most ``ADD_ENTRIES_LIMIT`` (500) entries; more -> StatusEnum 2.
- Throttle (``rpm_limit``): HTTP 429 with ``{"Message": "Too many requests"}``.
- ``Brand`` may be empty on CreateCampaign (no brand); a non-empty one must be a company brand.
- GetFolders lists the named folders only; the root folder (id 0) is implicit.
- Text-ins are ``{"TextInID", "PhoneNumber", "Keyword", "Date"}``; GetContacts returns numbers.
- SendTwoFactorToken takes ``{SessionToken, FromNumber, ToNumber}`` and returns the 6-digit code.

Test hooks: the Python methods below (``lists()``, ``numbers()``, ``campaigns()``,
``expire_sessions()``, ``add_stop()``, ``add_reinstate()``, ...) and ``POST /__emulator__/``
``expire_sessions``, ``stop`` and ``start`` (body ``{"PhoneNumber": ..., "Date": ...}``).
"""

from __future__ import annotations

import json
import re
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from secrets import randbelow, token_hex
from typing import Any
from zoneinfo import ZoneInfo

from werkzeug.wrappers import Request, Response

from reconciler.emulator import Emulator, Faults
from reconciler.providers.smsconnector.capabilities import ADD_ENTRIES_LIMIT

SANDBOX_CREDENTIALS = {"username": "demo", "password": "sandbox-smsconnector-password"}
UK = ZoneInfo("Europe/London")
STATUS_NAMES = ("Success", "InvalidSession", "InvalidParameters", "NotFound", "NotPermitted", "Failed")
SUCCESS, INVALID_SESSION, INVALID_PARAMETERS, NOT_FOUND, NOT_PERMITTED, FAILED = range(6)
ENTRY_FIELDS = ("PhoneNumber", "Title", "FirstName", "Surname", "Address1", "Address2", "Address3",
                "City", "County", "Postcode", "Gender", "DateOfBirth", "Reference", "Email", "User1",
                "User2", "User3")
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


class _Fail(Exception):
    """An application failure: answered as HTTP 200 with a non-zero StatusEnum."""

    def __init__(self, status: int, default: Any = None) -> None:
        super().__init__(STATUS_NAMES[status])
        self.status = status
        self.default = default


class _Framework(Exception):
    """A framework-level error (section 3.3): HTTP status and ``{"Message": ...}``."""

    def __init__(self, code: int, message: str) -> None:
        super().__init__(message)
        self.code = code


@dataclass
class _Call:
    """One routed request: the session user, path segments after the token, query, JSON body."""

    user: str
    args: list[str]
    query: dict[str, str]
    body: Any
    raw: dict[str, Any] = field(default_factory=dict)

    def get(self, name: str, default: Any = None) -> Any:
        return self.raw.get(name.lower(), default)


@dataclass(frozen=True)
class _Route:
    methods: tuple[str, ...]
    handler: str
    nargs: tuple[int, ...] = (0,)  # path segments after the session token
    session: str = "path"  # "path" | "body" | "none"
    default: Any = None  # Result on failure


def _r(methods: str, handler: str, nargs: tuple[int, ...] = (0,), session: str = "",
       default: Any = None) -> _Route:
    session = session or ("body" if "POST" in methods else "path")
    return _Route(tuple(methods.split()), handler, nargs, session, default)


ROUTES: dict[str, _Route] = {
    "security/login": _r("POST", "login", session="none"),
    "security/requestreusabletoken": _r("GET", "request_reusable_token", default=""),
    "security/loginwithreusabletoken": _r("POST", "login_with_reusable_token", session="none"),
    "security/verifyreusabletoken": _r("POST", "verify_reusable_token", session="none"),
    "security/logout": _r("GET DELETE", "logout", default=""),
    "company/getheaders": _r("GET", "get_headers", default=[]),
    "company/getbrands": _r("GET", "get_brands", default=[]),
    "users/getfolders": _r("GET", "get_folders", default=[]),
    "users/getfoldersbasic": _r("GET", "get_folders_basic", default=[]),
    "users/getcurrentuserinfo": _r("GET", "get_current_user_info"),
    "phonelists/createlist": _r("POST", "create_list", default=0),
    "phonelists/addsingleentry": _r("POST", "add_single_entry", default=0),
    "phonelists/addmultipleentries": _r("POST", "add_multiple_entries", default=0),
    "phonelists/getlists": _r("GET", "get_lists", (0, 1), default=[]),
    "phonelists/getlist": _r("GET", "get_list", (1,)),
    "phonelists/getnumbers": _r("GET", "get_numbers", (1,), default=[]),
    "phonelists/getnumberdetail": _r("GET", "get_number_detail", (2,)),
    "phonelists/getpreviousnumber": _r("GET", "get_previous_number", (2,)),
    "phonelists/getnextnumber": _r("GET", "get_next_number", (2,)),
    "campaigns/createcampaign": _r("POST", "create_campaign", default=0),
    "campaigns/linkcampaignandphonelist": _r("POST", "link", default=False),
    # Section 6 / gap 10: Unlink has no path parameters; its JSON body (token included) rides the DELETE.
    "campaigns/unlinkcampaignandphonelist": _r("DELETE", "unlink", session="body", default=False),
    "campaigns/launchcampaign": _r("POST", "launch", default=False),
    "campaigns/stopcampaign": _r("POST", "stop", default=False),
    "status/getallstops": _r("GET", "all_stops", default=[]),
    "status/getstopsfromdate": _r("GET", "stops_from_date", default=[]),
    "status/getstops": _r("GET", "recent_stops", default=[]),
    "status/getallreinstates": _r("GET", "all_reinstates", default=[]),
    "status/getreinstatesfromdate": _r("GET", "reinstates_from_date", default=[]),
    "status/getreinstates": _r("GET", "recent_reinstates", default=[]),
    "status/getrecentfails": _r("GET", "recent_fails", default=[]),
    "messages/sendinstantmessage": _r("POST", "send_instant_message", default=""),
    "messages/sendtwofactortoken": _r("POST", "send_two_factor_token", default=""),
    "messages/getallinboundmessages": _r("GET", "all_inbound", default=[]),
    "messages/getinboundmessagesfromdate": _r("GET", "inbound_from_date", default=[]),
    "messages/getinboundmessages": _r("GET", "recent_inbound", default=[]),
    "messages/getconversation": _r("GET", "conversation", (1,), default=[]),
    "textin/getalltextins": _r("GET", "all_text_ins", default=[]),
    "textin/gettextinsfromdate": _r("GET", "text_ins_from_date", default=[]),
    "textin/gettextins": _r("GET", "recent_text_ins", default=[]),
    "textin/getcontacts": _r("GET", "text_in_contacts", (1,), default=[]),
    "test": _r("GET", "test", default=""),
    "foo": _r("GET POST", "foo", session="none"),
}


def normalize_uk(number: Any) -> str | None:
    """Digits of a number as the emulator compares them (section 5.3), or None if invalid.

    UK rule: a leading ``0`` becomes ``44``, ``+``/``00``, spaces and dashes are dropped; a valid
    number has 10 to 15 digits.
    """
    text = re.sub(r"[\s\-().]", "", str(number or ""))
    if text.startswith("+"):
        text = text[1:]
    elif text.startswith("00"):
        text = text[2:]
    elif text.startswith("0"):
        text = "44" + text[1:]
    return text if text.isdigit() and 10 <= len(text) <= 15 else None


def parse_when(value: Any) -> float:
    """Epoch seconds of an ISO 8601 date or date-time; without offset it is UK local time."""
    if isinstance(value, (int, float)):
        return float(value)
    if isinstance(value, datetime):
        dt = value
    else:
        text = str(value or "").strip().replace("Z", "+00:00")
        text = re.sub(r"(\.\d{6})\d+", r"\1", text)  # .NET writes 7 fractional digits
        dt = datetime.fromisoformat(text)
    if dt.tzinfo is None:
        dt = dt.replace(tzinfo=UK)
    return dt.timestamp()


def format_when(epoch: float) -> str:
    """An instant as the API writes it: UK local time with offset (section 3.1)."""
    return datetime.fromtimestamp(epoch, UK).isoformat()


def _json(data: Any, status: int = 200) -> Response:
    return Response(json.dumps(data), status=status, content_type="application/json; charset=utf-8")


class SmsConnectorEmulator(Emulator):
    """Fake 82830 SMSConnector Web API for one company; see the module docstring."""

    name = "smsconnector"
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

    # -- framework --------------------------------------------------------------------------------
    def throttle_response(self) -> Response:
        return _json({"Message": "Too many requests"}, 429)  # ASSUMPTION: no throttle in the reference

    def error_response(self, status: int) -> Response:
        return _json({"Message": "An error has occurred."}, status)

    def handle(self, request: Request) -> Response:
        try:
            route, args = self._route(request)
            if route.handler == "foo":
                return Response(status=204)  # api/Foo "does nothing"
            body = self._body(request) if request.method in ("POST", "DELETE") else None
            raw = {str(k).lower(): v for k, v in body.items()} if isinstance(body, dict) else {}
            query = {k.lower(): v for k, v in request.args.items()}
            if route.session == "none":
                return _json(getattr(self, "_" + route.handler)(_Call("", args, query, body, raw)))
            token = str(raw.get("sessiontoken") or "") if route.session == "body" else args.pop(0)
            user = self._session(token)
            try:
                if user is None:
                    raise _Fail(INVALID_SESSION)
                call = _Call(user, args, query, body, raw)
                result = getattr(self, "_" + route.handler)(call)
                if route.handler == "logout":
                    self.db.execute("DELETE FROM sessions WHERE token = ?", (token,))
            except _Fail as fail:
                default = route.default if fail.default is None else fail.default
                return _json({"StatusEnum": fail.status, "Status": STATUS_NAMES[fail.status],
                              "Result": default})
            return _json({"StatusEnum": SUCCESS, "Status": "Success", "Result": result})
        except _Framework as exc:
            return _json({"Message": str(exc)}, exc.code)

    def _route(self, request: Request) -> tuple[_Route, list[str]]:
        parts = [p for p in request.path.split("/") if p]
        not_found = _Framework(404, "No HTTP resource was found that matches the request URI "
                                    f"'{request.url}'.")
        if not parts or parts[0].lower() != "api":
            raise not_found
        lowered = [p.lower() for p in parts[1:]]
        for size in (2, 1):
            route = ROUTES.get("/".join(lowered[:size])) if len(lowered) >= size else None
            if route is None:
                continue
            args = parts[1 + size:]
            wants_token = 1 if route.session == "path" else 0
            if len(args) - wants_token not in route.nargs:
                raise not_found
            if request.method not in route.methods:
                raise _Framework(405, "The requested resource does not support http method "
                                      f"'{request.method}'.")
            return route, args
        raise not_found

    @staticmethod
    def _body(request: Request) -> Any:
        mimetype = request.mimetype or "application/json"
        if "xml" in mimetype or "form" in mimetype:
            raise _Framework(415, f"The request entity's media type '{mimetype}' is not supported "
                                  "for this resource.")
        text = request.get_data(as_text=True)
        if not text.strip():
            return None
        try:
            return json.loads(text)
        except ValueError:
            raise _Framework(400, "The request is invalid.") from None

    def _session(self, token: str) -> str | None:
        row = self.db.execute("SELECT username, last_used FROM sessions WHERE token = ?", (token,)).fetchone()
        now = self.clock()
        if row is None:
            return None
        if now - row["last_used"] > self.session_idle_seconds:
            self.db.execute("DELETE FROM sessions WHERE token = ?", (token,))
            return None
        self.db.execute("UPDATE sessions SET last_used = ? WHERE token = ?", (now, token))
        return str(row["username"])

    # -- security (section 2) --------------------------------------------------------------------
    def _logon_result(self, username: str | None, token: str | None) -> dict[str, Any]:
        row = self.db.execute("SELECT * FROM users WHERE username = ?", (username,)).fetchone()
        if row is None:
            return {"Status": "InvalidCredentials", "Firstname": None, "Surname": None, "PhoneNumber": None,
                    "Company": None, "Token": None}
        return {"Status": "Success", "Firstname": row["firstname"], "Surname": row["surname"],
                "PhoneNumber": row["phone"], "Company": "ACME", "Token": token}

    def _open_session(self, username: str) -> dict[str, Any]:
        token = token_hex(16)
        self.db.execute("INSERT INTO sessions VALUES (?, ?, ?)", (token, username, self.clock()))
        return self._logon_result(username, token)

    def _login(self, call: _Call) -> dict[str, Any]:
        row = self.db.execute("SELECT username FROM users WHERE lower(username) = lower(?) AND password = ?",
                              (str(call.get("username") or ""), str(call.get("password") or ""))).fetchone()
        return self._open_session(row["username"]) if row else self._logon_result(None, None)

    def _reusable_user(self, call: _Call) -> str | None:
        token = call.body if isinstance(call.body, str) else call.get("token") or call.get("reusabletoken")
        row = self.db.execute("SELECT username FROM reusable_tokens WHERE token = ?",
                              (str(token or ""),)).fetchone()
        return str(row["username"]) if row else None

    def _login_with_reusable_token(self, call: _Call) -> dict[str, Any]:
        user = self._reusable_user(call)
        return self._open_session(user) if user else self._logon_result(None, None)

    def _verify_reusable_token(self, call: _Call) -> dict[str, Any]:
        return self._logon_result(self._reusable_user(call), None)

    def _request_reusable_token(self, call: _Call) -> str:
        token = token_hex(20)
        self.db.execute("INSERT INTO reusable_tokens VALUES (?, ?)", (token, call.user))
        return token

    def _logout(self, call: _Call) -> str:
        return ""

    # -- company and users (section 4) -----------------------------------------------------------
    def _company(self, kind: str) -> list[str]:
        rows = self.db.execute("SELECT value FROM company WHERE kind = ? ORDER BY rowid", (kind,))
        return [r["value"] for r in rows]

    def _get_headers(self, call: _Call) -> list[str]:
        return self._company("header")

    def _get_brands(self, call: _Call) -> list[str]:
        return self._company("brand")

    def _get_folders(self, call: _Call) -> list[dict[str, Any]]:
        return [{"FolderID": r["id"], "Name": r["name"], "ParentFolderID": r["parent"]}
                for r in self.db.execute("SELECT * FROM folders ORDER BY id")]

    def _get_folders_basic(self, call: _Call) -> list[dict[str, Any]]:
        return [{"FolderID": f["FolderID"], "Name": f["Name"]} for f in self._get_folders(call)]

    def _get_current_user_info(self, call: _Call) -> dict[str, Any]:
        row = self.db.execute("SELECT * FROM users WHERE username = ?", (call.user,)).fetchone()
        return {"Username": row["username"], "Firstname": row["firstname"], "Surname": row["surname"],
                "PhoneNumber": row["phone"], "Company": "ACME", "Email": row["email"]}

    # -- phone lists (section 5) -----------------------------------------------------------------
    @staticmethod
    def _int(value: Any, status: int = INVALID_PARAMETERS) -> int:
        try:
            return int(value)
        except (TypeError, ValueError):
            raise _Fail(status) from None

    def _folder(self, value: Any) -> int:
        folder = self._int(value or 0)
        if folder and self.db.execute("SELECT 1 FROM folders WHERE id = ?", (folder,)).fetchone() is None:
            raise _Fail(NOT_FOUND)
        return folder

    def _list(self, value: Any) -> int:
        list_id = self._int(value, NOT_FOUND)
        if self.db.execute("SELECT 1 FROM lists WHERE id = ?", (list_id,)).fetchone() is None:
            raise _Fail(NOT_FOUND)
        return list_id

    def _list_info(self, list_id: int) -> dict[str, Any]:
        row = self.db.execute("SELECT l.*, (SELECT count(*) FROM entries e WHERE e.list_id = l.id) AS n "
                              "FROM lists l WHERE id = ?", (list_id,)).fetchone()
        return {"ListID": row["id"], "ListName": row["name"], "Folder": row["folder"],
                "NumberCount": row["n"]}

    def _create_list(self, call: _Call) -> int:
        name = call.get("listname") or call.get("name")  # section 10.1: ListName, or Name
        if not isinstance(name, str) or not name.strip():
            raise _Fail(INVALID_PARAMETERS)
        folder = self._folder(call.get("folder"))
        cur = self.db.execute("INSERT INTO lists (name, folder) VALUES (?, ?)", (name, folder))
        return int(cur.lastrowid or 0)

    def _store_entry(self, list_id: int, entry: Any) -> bool:
        fields = {str(k).lower(): v for k, v in entry.items()} if isinstance(entry, dict) else {}
        number = normalize_uk(fields.get("phonenumber"))
        if number is None:
            return False
        data = json.dumps({name: fields.get(name.lower()) for name in ENTRY_FIELDS})
        updated = self.db.execute("UPDATE entries SET phone = ?, fields = ? WHERE list_id = ? AND number = ?",
                                  (str(fields["phonenumber"]), data, list_id, number)).rowcount
        if not updated:  # section 5.3: re-adding a number upserts and keeps its place
            self.db.execute("INSERT INTO entries VALUES (?, ?, (SELECT coalesce(max(seq), 0) + 1 "
                            "FROM entries WHERE list_id = ?), ?, ?)",
                            (list_id, number, list_id, str(fields["phonenumber"]), data))
        return True

    def _add_single_entry(self, call: _Call) -> int:
        list_id = self._list(call.get("listid"))
        if not self._store_entry(list_id, call.get("listentry")):
            raise _Fail(INVALID_PARAMETERS)
        return 1

    def _add_multiple_entries(self, call: _Call) -> int:
        list_id = self._list(call.get("listid"))
        entries = call.get("listentries")
        if not isinstance(entries, list) or len(entries) > ADD_ENTRIES_LIMIT:
            raise _Fail(INVALID_PARAMETERS)  # ASSUMPTION: batch limit, see capabilities.ADD_ENTRIES_LIMIT
        return sum(self._store_entry(list_id, entry) for entry in entries)

    def _get_lists(self, call: _Call) -> list[dict[str, Any]]:
        folder = self._folder(call.args[0] if call.args else call.query.get("folder"))  # path or ?Folder=
        rows = self.db.execute("SELECT id FROM lists WHERE folder = ? ORDER BY id", (folder,)).fetchall()
        return [self._list_info(r["id"]) for r in rows]

    def _get_list(self, call: _Call) -> dict[str, Any]:
        return self._list_info(self._list(call.args[0]))

    def _entries(self, list_id: int) -> list[Any]:
        return self.db.execute("SELECT * FROM entries WHERE list_id = ? ORDER BY seq", (list_id,)).fetchall()

    def _get_numbers(self, call: _Call) -> list[str]:
        return [r["phone"] for r in self._entries(self._list(call.args[0]))]

    def _position(self, call: _Call) -> tuple[list[Any], int]:
        rows = self._entries(self._list(call.args[0]))
        number = normalize_uk(call.args[1])
        for index, row in enumerate(rows):
            if row["number"] == number:
                return rows, index
        raise _Fail(NOT_FOUND)

    def _get_number_detail(self, call: _Call) -> dict[str, Any]:
        rows, index = self._position(call)
        detail: dict[str, Any] = json.loads(rows[index]["fields"])
        return detail

    def _get_previous_number(self, call: _Call) -> str | None:
        rows, index = self._position(call)
        return str(rows[index - 1]["phone"]) if index > 0 else None

    def _get_next_number(self, call: _Call) -> str | None:
        rows, index = self._position(call)
        return str(rows[index + 1]["phone"]) if index + 1 < len(rows) else None

    # -- campaigns (section 6) -------------------------------------------------------------------
    def _create_campaign(self, call: _Call) -> int:
        title, text = call.get("title"), call.get("text")
        brand, sender = call.get("brand") or None, str(call.get("fromnumber") or "")
        if not (isinstance(title, str) and title.strip() and isinstance(text, str) and text.strip()):
            raise _Fail(INVALID_PARAMETERS)
        unknown_brand = brand is not None and brand not in self._company("brand")
        if sender not in self._company("header") or unknown_brand:
            raise _Fail(INVALID_PARAMETERS)
        try:
            launch_at = parse_when(call.get("launchat"))
        except (TypeError, ValueError):
            raise _Fail(INVALID_PARAMETERS) from None
        folder = self._folder(call.get("folder"))
        lease = call.get("lease")
        cur = self.db.execute("INSERT INTO campaigns (title, text, folder, brand, from_number, launch_at, "
                              "lease) VALUES (?, ?, ?, ?, ?, ?, ?)",
                              (title, text, folder, brand, sender, launch_at,
                               lease if isinstance(lease, int) else None))
        return int(cur.lastrowid or 0)

    def _campaign(self, call: _Call) -> Any:
        row = self.db.execute("SELECT * FROM campaigns WHERE id = ?",
                              (self._int(call.get("campaignid"), NOT_FOUND),)).fetchone()
        if row is None:
            raise _Fail(NOT_FOUND)
        if row["armed"] and row["launch_at"] <= self.clock():
            raise _Fail(FAILED)  # sent: nothing can change any more (section 6 ASSUMPTION)
        return row

    def _link(self, call: _Call) -> bool:
        campaign, list_id = self._campaign(call)["id"], self._list(call.get("listid"))
        self.db.execute("INSERT OR IGNORE INTO campaign_lists VALUES (?, ?)", (campaign, list_id))
        return True

    def _unlink(self, call: _Call) -> bool:
        campaign, list_id = self._campaign(call)["id"], self._list(call.get("listid"))
        self.db.execute("DELETE FROM campaign_lists WHERE campaign_id = ? AND list_id = ?",
                        (campaign, list_id))
        return True

    def _launch(self, call: _Call) -> bool:
        row = self._campaign(call)
        linked = self.db.execute("SELECT 1 FROM campaign_lists WHERE campaign_id = ?",
                                 (row["id"],)).fetchone()
        if linked is None or row["launch_at"] <= self.clock():
            raise _Fail(INVALID_PARAMETERS)
        self.db.execute("UPDATE campaigns SET armed = 1 WHERE id = ?", (row["id"],))
        return True

    def _stop(self, call: _Call) -> bool:
        self.db.execute("UPDATE campaigns SET armed = 0 WHERE id = ?", (self._campaign(call)["id"],))
        return True

    # -- status, messages, text-ins (sections 7 and 8) -------------------------------------------
    def _since(self, call: _Call) -> float:
        try:
            return parse_when(call.query.get("datefrom"))
        except (TypeError, ValueError):
            raise _Fail(INVALID_PARAMETERS) from None

    def _yesterday(self) -> float:
        today = datetime.fromtimestamp(self.clock(), UK).replace(hour=0, minute=0, second=0, microsecond=0)
        return (today - timedelta(days=1)).timestamp()

    def _events(self, kind: str, since: float = float("-inf")) -> list[dict[str, Any]]:
        rows = self.db.execute("SELECT * FROM events WHERE kind = ? AND at >= ? ORDER BY at, seq",
                               (kind, since))
        return [{"PhoneNumber": r["number"], "Date": format_when(r["at"])} for r in rows]

    def _all_stops(self, call: _Call) -> list[dict[str, Any]]:
        return self._events("stop")

    def _stops_from_date(self, call: _Call) -> list[dict[str, Any]]:
        return self._events("stop", self._since(call))

    def _recent_stops(self, call: _Call) -> list[dict[str, Any]]:
        return self._events("stop", self._yesterday())

    def _all_reinstates(self, call: _Call) -> list[dict[str, Any]]:
        return self._events("start")

    def _reinstates_from_date(self, call: _Call) -> list[dict[str, Any]]:
        return self._events("start", self._since(call))

    def _recent_reinstates(self, call: _Call) -> list[dict[str, Any]]:
        return self._events("start", self._yesterday())

    def _recent_fails(self, call: _Call) -> list[str]:
        rows = self.db.execute("SELECT number FROM events WHERE kind = 'fail' AND at >= ? GROUP BY number "
                               "HAVING count(*) >= 3 ORDER BY min(seq)", (self._since(call),))
        return [r["number"] for r in rows]

    def _send(self, call: _Call, text: str) -> None:
        row = self.db.execute("SELECT can_send FROM users WHERE username = ?", (call.user,)).fetchone()
        if not row["can_send"]:
            raise _Fail(NOT_PERMITTED)
        sender, number = str(call.get("fromnumber") or ""), normalize_uk(call.get("tonumber"))
        if sender not in self._company("header") or number is None or not text:
            raise _Fail(INVALID_PARAMETERS)
        self.db.execute("INSERT INTO messages (direction, from_number, to_number, body, at) VALUES "
                        "('out', ?, ?, ?, ?)", (sender, number, text, self.clock()))

    def _send_instant_message(self, call: _Call) -> str:
        self._send(call, str(call.get("message") or ""))
        return ""

    def _send_two_factor_token(self, call: _Call) -> str:
        code = f"{randbelow(10**6):06d}"
        self._send(call, f"Your code is {code}")
        return code

    def _messages(self, where: str, args: tuple[Any, ...]) -> list[dict[str, Any]]:
        rows = self.db.execute(f"SELECT * FROM messages WHERE {where} ORDER BY at, seq", args)
        return [{"From": r["from_number"], "To": r["to_number"], "Message": r["body"],
                 "DateReceived": format_when(r["at"])} for r in rows]

    def _all_inbound(self, call: _Call) -> list[dict[str, Any]]:
        return self._messages("direction = 'in'", ())

    def _inbound_from_date(self, call: _Call) -> list[dict[str, Any]]:
        return self._messages("direction = 'in' AND at >= ?", (self._since(call),))

    def _recent_inbound(self, call: _Call) -> list[dict[str, Any]]:
        return self._messages("direction = 'in' AND at >= ?", (self._yesterday(),))

    def _conversation(self, call: _Call) -> list[dict[str, Any]]:
        number = normalize_uk(call.args[0])
        if number is None:
            raise _Fail(INVALID_PARAMETERS)
        return self._messages("from_number = ? OR to_number = ?", (number, number))

    def _text_ins(self, since: float) -> list[dict[str, Any]]:
        rows = self.db.execute("SELECT * FROM textins WHERE at >= ? ORDER BY at, seq", (since,))
        return [{"TextInID": r["text_in_id"], "PhoneNumber": r["number"], "Keyword": r["keyword"],
                 "Date": format_when(r["at"])} for r in rows]

    def _all_text_ins(self, call: _Call) -> list[dict[str, Any]]:
        return self._text_ins(float("-inf"))

    def _text_ins_from_date(self, call: _Call) -> list[dict[str, Any]]:
        return self._text_ins(self._since(call))

    def _recent_text_ins(self, call: _Call) -> list[dict[str, Any]]:
        return self._text_ins(self._yesterday())

    def _text_in_contacts(self, call: _Call) -> list[str]:
        start = self._since(call)
        try:
            end = parse_when(call.query.get("dateto"))
        except (TypeError, ValueError):
            raise _Fail(INVALID_PARAMETERS) from None
        if end < start or end - start > 7 * 86400:  # "time difference is limited to one week"
            raise _Fail(INVALID_PARAMETERS)
        rows = self.db.execute("SELECT DISTINCT number FROM textins WHERE text_in_id = ? "
                               "AND at BETWEEN ? AND ? ORDER BY number",
                               (self._int(call.args[0], NOT_FOUND), start, end))
        return [r["number"] for r in rows]

    def _test(self, call: _Call) -> str:
        return "Test"

    # -- test hooks -------------------------------------------------------------------------------
    def control(self, action: str, request: Request) -> Response | None:
        if request.method != "POST":
            return None
        if action == "expire_sessions":
            self.expire_sessions()
            return _json({"expired": True})
        if action in ("stop", "start"):
            data = json.loads(request.get_data(as_text=True) or "{}")
            (self.add_stop if action == "stop" else self.add_reinstate)(data["PhoneNumber"], data.get("Date"))
            return _json({"ok": True})
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
