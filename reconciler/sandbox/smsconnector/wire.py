"""The wire format of the emulated 82830 SMSConnector Web API (docs/providers/smsconnector.md).

The route table (section 1, matched case-insensitively), the ``StatusEnum/Status/Result`` envelope
and its status codes (section 3.2, raised as :class:`Fail`), framework errors answered with an
HTTP status and ``{"Message": ...}`` (section 3.3, :class:`FrameworkError`), the parsed request
(:class:`Call`), and the UK number and date rules of sections 3.1 and 5.3.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from werkzeug.wrappers import Response

UK = ZoneInfo("Europe/London")
# ASSUMPTION: AddMultipleEntries takes at most this many entries (the emulator's own copy).
ADD_ENTRIES_LIMIT = 500
STATUS_NAMES = ("Success", "InvalidSession", "InvalidParameters", "NotFound", "NotPermitted", "Failed")
SUCCESS, INVALID_SESSION, INVALID_PARAMETERS, NOT_FOUND, NOT_PERMITTED, FAILED = range(6)
ENTRY_FIELDS = ("PhoneNumber", "Title", "FirstName", "Surname", "Address1", "Address2", "Address3",
                "City", "County", "Postcode", "Gender", "DateOfBirth", "Reference", "Email", "User1",
                "User2", "User3")


class Fail(Exception):
    """An application failure: answered as HTTP 200 with a non-zero StatusEnum."""

    def __init__(self, status: int, default: Any = None) -> None:
        super().__init__(STATUS_NAMES[status])
        self.status = status
        self.default = default


class FrameworkError(Exception):
    """A framework-level error (section 3.3): HTTP status and ``{"Message": ...}``."""

    def __init__(self, code: int, message: str) -> None:
        super().__init__(message)
        self.code = code


@dataclass
class Call:
    """One routed request: the session user, path segments after the token, query, JSON body."""

    user: str
    args: list[str]
    query: dict[str, str]
    body: Any
    raw: dict[str, Any] = field(default_factory=dict)

    def get(self, name: str, default: Any = None) -> Any:
        return self.raw.get(name.lower(), default)


@dataclass(frozen=True)
class Route:
    methods: tuple[str, ...]
    handler: str
    nargs: tuple[int, ...] = (0,)  # path segments after the session token
    session: str = "path"  # "path" | "body" | "none"
    default: Any = None  # Result on failure


def _r(methods: str, handler: str, nargs: tuple[int, ...] = (0,), session: str = "",
       default: Any = None) -> Route:
    session = session or ("body" if "POST" in methods else "path")
    return Route(tuple(methods.split()), handler, nargs, session, default)


ROUTES: dict[str, Route] = {
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


def json_response(data: Any, status: int = 200) -> Response:
    return Response(json.dumps(data), status=status, content_type="application/json; charset=utf-8")


def parse_int(value: Any, status: int = INVALID_PARAMETERS) -> int:
    """``value`` as an int; otherwise the request fails with ``status``."""
    try:
        return int(value)
    except (TypeError, ValueError):
        raise Fail(status) from None
