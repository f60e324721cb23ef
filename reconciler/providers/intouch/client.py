"""HTTP client of the Intouch REST API (docs/providers/intouch.md).

Speaks the wire contract only (PascalCase JSON, ``/Date(...)/`` dates, numeric ids); the
translation to reconciler attributes lives in provider.py. Every call sends Basic credentials
``user@domain:password`` (section 2) and JSON (section 3).
"""

from __future__ import annotations

import json
import logging
import re
from datetime import UTC, datetime
from typing import Any

import requests

from reconciler.errors import NotFound, ProviderError, Unauthorized
from reconciler.http import HttpClient, Limits, RetryPolicy, excerpt, take_json
from reconciler.secrets import redact_url, register, register_basic
from reconciler.shapes import INT, NONE, OPTIONAL_BOOL, OPTIONAL_TEXT, TEXT, Shape, ShapeError, records

log = logging.getLogger(__name__)

THROTTLE_TEXT = "Number of allowed API requests per minute exceeded"  # section 3.2
AUTH_ADVICE = "check username, domain and password, and that the API feature is enabled"
_DATE = re.compile(r"^\\?/Date\((-?\d+)([+-]\d{2})?(\d{2})?\)\\?/$")

Json = dict[str, Any]
UNCERTAIN = "; the create may have been applied, so the item is uncertain until the next plan"
# What the client accepts of each answer (sections 4.2, 5.2, 8); anything else is one clear error.
_TEXT_FIELDS = ("Firstname", "Lastname", "Email", "Description", "Description2", "Description3")
CONTACT = Shape(
    "contact",
    {"ContactId": INT},
    {"PhoneNumber": OPTIONAL_TEXT, "IsPrivate": OPTIONAL_BOOL, **dict.fromkeys(_TEXT_FIELDS, OPTIONAL_TEXT)},
)
GROUP = Shape(
    "group",
    {"GroupId": INT},
    {"Name": OPTIONAL_TEXT, "Description": OPTIONAL_TEXT, "IsPrivate": OPTIONAL_BOOL},
)
USER = Shape("user", {}, {"Settings": (list, NONE), "AllowedFunctions": (list, NONE)})
SETTING = Shape("setting", {"Name": TEXT}, {})


def parse_date(value: str | None) -> datetime | None:
    """A Microsoft JSON date (``\\/Date(1217243648767+0200)\\/`` or ``/Date(ms)/``) as aware UTC.

    The milliseconds are UTC already; the optional ``±hhmm`` is a display offset and is ignored
    (section 3). ``None`` stays ``None``; anything else raises ProviderError.
    """
    if value is None:
        return None
    match = _DATE.match(value.strip())
    if match is None:
        raise ProviderError(f"intouch: unreadable date {value!r} (expected /Date(milliseconds+hhmm)/)")
    return datetime.fromtimestamp(int(match.group(1)) / 1000, tz=UTC)


def format_date(moment: datetime) -> str:
    """``moment`` as the JSON date the API reads: ``/Date(<ms>+0000)/``."""
    return f"/Date({int(moment.timestamp() * 1000)}+0000)/"


def created_id(response: requests.Response, id_field: str) -> int:
    """The id of a created object: a bare JSON number (v2), an object with ``id_field`` (v1), or
    the last segment of ``Location`` (section 11.2)."""
    try:
        body = response.json() if response.content else None
    except ValueError:
        body = None
    if isinstance(body, bool):
        body = None
    if isinstance(body, (int, str)) and str(body).isdigit():
        return int(body)
    if isinstance(body, dict) and str(body.get(id_field, "")).isdigit():
        return int(body[id_field])
    location = response.headers.get("Location", "").rstrip("/")
    tail = location.rsplit("/", 1)[-1]
    if tail.isdigit():
        return int(tail)
    msg = f"intouch: the create answer (HTTP {response.status_code}) carries no {id_field}{UNCERTAIN}"
    raise ProviderError(msg, maybe_committed=True)


class IntouchClient(HttpClient):
    """One Intouch user on one base URL (``.../2`` by default). Not thread-safe per instance."""

    provider = "intouch"

    def __init__(self, base_url: str, *, username: str, domain: str, password: str,
                 rate_limit: int | None = None, retry: RetryPolicy | None = None,
                 limits: Limits | None = None) -> None:
        if retry is None:
            # Section 3.2: the throttle counts requests per minute, so retries must span over a
            # minute. The first retry waits for the rate limiter's hold (until the window has
            # room); each later one at least 15 s (4 retries cover 60 s and more).
            retry = RetryPolicy.from_env()
            retry.throttle_min_delay = 15.0
        super().__init__(base_url, rate_limit=rate_limit, retry=retry, limits=limits,
                         headers={"Accept": "application/json", "Content-Type": "application/json"})
        register(password)
        register_basic(f"{username}@{domain}", password)
        self.session.auth = (f"{username}@{domain}", password)

    def is_throttled(self, response: requests.Response) -> bool:
        """Section 3.2: a 503 whose body is the throttle text (a plain 503 is a server error)."""
        return response.status_code == 503 and THROTTLE_TEXT.lower() in response.text.lower()

    # -- plumbing ---------------------------------------------------------------------------------
    def call(self, method: str, path: str, what: str, body: Any = None) -> requests.Response:
        """Send one call and map its status; GET/PUT/DELETE are idempotent, POST (create) is not."""
        kwargs: dict[str, Any] = {}
        if body is not None:
            kwargs["data"] = json.dumps(body)
        response = self.request(method, path, idempotent=method != "POST", what=what, **kwargs)
        self.check(response, what, created=method == "POST")
        return response

    def check(self, response: requests.Response, what: str, *, created: bool = False) -> None:
        """Raise the error a non-2xx answer means (section 3.1); error bodies are shown, never parsed.

        A 4xx refused the call. Any other non-2xx answer to a create (``created``) is no clear
        refusal, so the create may have been applied: the error says so (``maybe_committed``).
        """
        status = response.status_code
        if 200 <= status < 300:
            return
        if status in (401, 403, 406):
            msg = f"intouch: {what}: HTTP {status}, credentials or permission refused ({AUTH_ADVICE})"
            raise Unauthorized(msg)
        detail = excerpt(response.text)
        detail = f": {detail}" if detail else ""
        if status == 404:
            where = f"{response.request.method} {redact_url(response.url)}" if response.request else ""
            raise NotFound(
                f"intouch: {what}: HTTP 404 not found at {where}{detail} (if every call fails so, check the "
                "account's url: the Intouch API's ends in /2)"
            )
        if status == 400:
            raise ProviderError(f"intouch: {what}: HTTP 400 bad request{detail}")
        uncertain = created and not 400 <= status < 500
        msg = f"intouch: {what}: HTTP {status}{detail}{UNCERTAIN if uncertain else ''}"
        raise ProviderError(msg, maybe_committed=uncertain)

    def get_json(self, path: str, what: str) -> Any:
        response = self.call("GET", path, what)
        try:
            return take_json(response)
        except ValueError:
            msg = f"intouch: {what}: the answer is not JSON (HTTP {response.status_code})"
            raise ProviderError(msg) from None

    def get_list(self, path: str, what: str, shape: Shape) -> list[Json]:
        """A JSON array of objects of ``shape``; anything else is one ProviderError naming ``what``."""
        try:
            return records(self.get_json(path, what), shape)
        except ShapeError as exc:
            raise ProviderError(f"intouch: {what}: {exc}") from None

    def get_object(self, path: str, what: str, shape: Shape) -> Json:
        """A JSON object of ``shape``; anything else is one ProviderError naming ``what``."""
        try:
            return shape.check(self.get_json(path, what))
        except ShapeError as exc:
            raise ProviderError(f"intouch: {what}: {exc}") from None

    # -- user -------------------------------------------------------------------------------------
    def user(self) -> Json:
        """``GET /user``: permissions, senders, organisation and settings of the caller (section 8)."""
        user = self.get_object("user", "read user", USER)
        try:
            records(user.get("Settings") or [], SETTING, "Settings")
        except ShapeError as exc:
            raise ProviderError(f"intouch: read user: {exc}") from None
        return user

    # -- groups -----------------------------------------------------------------------------------
    def groups(self) -> list[Json]:
        return self.get_list("groups", "list groups", GROUP)

    def group(self, group_id: int) -> Json:
        return self.get_object(f"groups/{group_id}", f"read group {group_id}", GROUP)

    def create_group(self, group: Json) -> int:
        """``POST /groups``; returns the new GroupId."""
        what = f"create group {group.get('Name')!r}"
        return created_id(self.call("POST", "groups", what, group), "GroupId")

    def update_group(self, group_id: int, group: Json) -> None:
        """``PUT /groups/{id}`` with the full group (Name, Description, IsPrivate)."""
        self.call("PUT", f"groups/{group_id}", f"update group {group.get('Name')!r}", group)

    def delete_group(self, group_id: int, label: str = "") -> None:
        self.call("DELETE", f"groups/{group_id}", f"delete group {label or group_id}")

    def members(self, group_id: int) -> list[Json]:
        """``GET /groups/{id}/contacts``: the contacts in one group."""
        return self.get_list(f"groups/{group_id}/contacts", f"list members of group {group_id}", CONTACT)

    def add_member(self, group_id: int, contact_id: int, label: str = "") -> None:
        """``PUT /groups/{g}/contacts/{c}`` with an empty body; adding a member twice is harmless."""
        self.call("PUT", f"groups/{group_id}/contacts/{contact_id}",
                  f"add member {label or f'{contact_id} to group {group_id}'}")

    def remove_member(self, group_id: int, contact_id: int, label: str = "") -> None:
        """``DELETE /groups/{g}/contacts/{c}``; the contact itself is kept. NotFound if not a member."""
        self.call("DELETE", f"groups/{group_id}/contacts/{contact_id}",
                  f"remove member {label or f'{contact_id} from group {group_id}'}")

    # -- contacts ---------------------------------------------------------------------------------
    def contacts(self) -> list[Json]:
        return self.get_list("contacts", "list contacts", CONTACT)

    def contact(self, contact_id: int) -> Json:
        return self.get_object(f"contacts/{contact_id}", f"read contact {contact_id}", CONTACT)

    def contact_by_number(self, number: str) -> Json:
        """``GET /contacts/phonenumber/{n}``: the contact stored with exactly this number."""
        return self.get_object(f"contacts/phonenumber/{number}", "find contact by number", CONTACT)

    def count_contacts(self) -> int:
        data = self.get_json("contacts/count", "count contacts")
        if isinstance(data, bool) or not isinstance(data, int):
            raise ProviderError(f"intouch: count contacts: expected a number, got {data!r}")
        return data

    def create_contact(self, contact: Json, label: str = "") -> int:
        """``POST /contacts``; returns the new ContactId."""
        what = f"create contact {label or contact.get('PhoneNumber')}"
        return created_id(self.call("POST", "contacts", what, contact), "ContactId")

    def update_contact(self, contact_id: int, contact: Json, label: str = "") -> None:
        """``PUT /contacts/{id}`` with the full contact (the API replaces every writable field)."""
        self.call("PUT", f"contacts/{contact_id}", f"update contact {label or contact_id}", contact)

    def delete_contact(self, contact_id: int, label: str = "") -> None:
        self.call("DELETE", f"contacts/{contact_id}", f"delete contact {label or contact_id}")
