"""HTTP client of the 82830 SMSConnector Web API (docs/providers/smsconnector.md).

One session per client: ``Security/Login`` (or ``LoginWithReusableToken``) on the first call, the
session token in the path of GET/DELETE routes and in the ``SessionToken`` body property of POST
routes (section 2), ``Security/Logout`` in :meth:`close`. The token is a secret: it is registered
with :mod:`reconciler.secrets` as soon as it arrives, so messages and logs show ``***``.

Every answer passes through :meth:`SmsConnectorClient._unwrap`: non-200 is a transport error, a
non-zero ``StatusEnum`` an :class:`ApiStatusError` naming the endpoint and the status. An
``InvalidSession`` answer makes the client log in again once and repeat the call.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from typing import Any
from urllib.parse import quote

import requests

from reconciler import secrets
from reconciler.errors import NotFound, ProviderError, TransportError, Unauthorized
from reconciler.http import HttpClient, Limits, excerpt
from reconciler.secrets import redact, redact_url
from reconciler.shapes import (
    INT,
    NONE,
    OPTIONAL_INT,
    OPTIONAL_TEXT,
    Shape,
    ShapeError,
    matches,
    records,
    type_name,
)

log = logging.getLogger(__name__)


class _Redact(logging.Filter):
    """Redact registered secrets from a record: urllib3 logs request paths, and ours hold the token."""

    def filter(self, record: logging.LogRecord) -> bool:
        record.msg, record.args = redact(record.getMessage()), None
        return True


_URLLIB3 = logging.getLogger("urllib3.connectionpool")
if not any(isinstance(f, _Redact) for f in _URLLIB3.filters):
    _URLLIB3.addFilter(_Redact())

SUCCESS, INVALID_SESSION, NOT_FOUND, FAILED = 0, 1, 3, 5
UNCERTAIN = "; the call may have been applied, so the item is uncertain until the next plan"
# What the client accepts of each Result (sections 4-7); anything else is one clear error.
FOLDER = Shape("folder", {"FolderID": INT}, {"Name": OPTIONAL_TEXT, "ParentFolderID": OPTIONAL_INT})
PHONE_LIST = Shape("phone list", {"ListID": INT}, {"ListName": OPTIONAL_TEXT})


class ApiStatusError(ProviderError):
    """The API answered with a non-zero ``StatusEnum``; ``status`` is that number."""

    def __init__(self, message: str, status: int, status_name: str) -> None:
        super().__init__(message)
        self.status = status
        self.status_name = status_name


class NotFoundStatus(ApiStatusError, NotFound):
    """StatusEnum 3: the API does not know the list, campaign, folder or number."""


class SmsConnectorClient(HttpClient):
    """Typed calls of the endpoints the provider uses; see the module docstring for the session."""

    provider = "smsconnector"

    def __init__(self, base_url: str, credentials: Mapping[str, str], *, rate_limit: int | None = None,
                 limits: Limits | None = None) -> None:
        super().__init__(base_url, limits=limits, rate_limit=rate_limit,
                         headers={"Accept": "application/json"})
        self.username = str(credentials.get("username") or "")
        self._password = str(credentials.get("password") or "")
        self._reusable = str(credentials.get("reusable_token") or "")
        for value in (self._password, self._reusable):
            secrets.register(value)
        self._token: str | None = None
        self.logins = 0

    # -- session ----------------------------------------------------------------------------------
    def login(self) -> None:
        """Open a session (password, or the reusable token when no password is given)."""
        if self._password:
            body: Any = {"Username": self.username, "Password": self._password}
            route, how = "api/Security/Login", f"log in as {self.username!r}"
            fix = "check the account's username and password credentials"
        elif self._reusable:
            body, route = self._reusable, "api/Security/LoginWithReusableToken"
            how = "log in with the reusable token"
            fix = "request a new reusable token in the 82830 portal and update the reusable_token credential"
        else:
            msg = "smsconnector: the account's credentials need a password or a reusable_token"
            raise Unauthorized(msg)
        response = self.request("POST", route, idempotent=True, what=how, json=body)
        data = self._json(response, route, how)
        token = data.get("Token") if isinstance(data, dict) else None
        if not isinstance(data, dict) or data.get("Status") != "Success" or not token:
            status = data.get("Status") if isinstance(data, dict) else "no LogonResult"
            endpoint = route.removeprefix("api/")
            raise Unauthorized(f"smsconnector: {how}: {endpoint} answered {status!r} ({fix})")
        secrets.register(str(token))
        self._token = str(token)
        self.logins += 1
        log.info("smsconnector: logged in as %s", self.username or "(reusable token)")

    def close(self) -> None:
        """Log out (errors are logged, not raised) and close the HTTP session."""
        if self._token is not None:
            try:
                self._call("DELETE", "Security/Logout", what="log out", relogin=False)
            except ProviderError as exc:
                log.info("smsconnector: log out failed: %s", exc)
            self._token = None
        super().close()

    # -- one place for requests and the envelope -------------------------------------------------
    def _call(self, method: str, route: str, *segments: str | int, params: Mapping[str, str] | None = None,
              body: Mapping[str, Any] | None = None, idempotent: bool = True, what: str,
              relogin: bool = True) -> Any:
        """Send one API call with the session token and return the envelope's ``Result``.

        An ``InvalidSession`` answer (the request was refused, so nothing was applied) logs in
        again and repeats the call once.
        """
        if self._token is None:
            self.login()
        try:
            return self._send(method, route, segments, params, body, idempotent, what)
        except ApiStatusError as exc:
            if exc.status != INVALID_SESSION or not relogin:
                raise
        log.info("smsconnector: %s: session expired; logging in again", what)
        self._token = None
        self.login()
        return self._send(method, route, segments, params, body, idempotent, what)

    def _send(self, method: str, route: str, segments: tuple[str | int, ...],
              params: Mapping[str, str] | None, body: Mapping[str, Any] | None, idempotent: bool,
              what: str) -> Any:
        token = self._token or ""
        if method == "GET" or (method == "DELETE" and body is None):
            parts = [token, *(str(s) for s in segments)]
            path = "/".join(["api", route, *(quote(part, safe="") for part in parts)])
            kwargs: dict[str, Any] = {"params": params}
        else:
            path = f"api/{route}"
            kwargs = {"json": {"SessionToken": token, **(body or {})}}
        response = self.request(method, path, idempotent=idempotent, what=what, **kwargs)
        return self._unwrap(response, route, what, idempotent)

    def _json(self, response: requests.Response, route: str, what: str, *, idempotent: bool = True) -> Any:
        """The answer's JSON. A non-200 answer or an unreadable body raises TransportError; for a
        call that is not idempotent, only a 4xx counts as a refusal: after anything else the call
        may have been applied (``maybe_committed``)."""
        status = response.status_code
        uncertain = not idempotent and not 400 <= status < 500
        if status != 200:
            try:
                message = response.json().get("Message")
                detail = excerpt(str(message or ""))
            except (ValueError, AttributeError):
                detail = excerpt(response.text)
            where = f"{response.request.method} {redact_url(response.url)}"
            msg = f"smsconnector: {what}: HTTP {status} at {where}: {detail}{UNCERTAIN if uncertain else ''}"
            raise TransportError(msg, maybe_committed=uncertain)
        try:
            return response.json()
        except ValueError:
            msg = f"smsconnector: {what}: {route} answered with something that is not JSON"
            raise TransportError(msg + (UNCERTAIN if uncertain else ""), maybe_committed=uncertain) from None

    def _unwrap(self, response: requests.Response, route: str, what: str, idempotent: bool = True) -> Any:
        """The envelope's ``Result``; raises on a non-200 answer or a non-zero ``StatusEnum``."""
        data = self._json(response, route, what, idempotent=idempotent)
        if not isinstance(data, dict) or "StatusEnum" not in data:
            msg = f"smsconnector: {what}: {route} answered without the StatusEnum envelope"
            raise ProviderError(msg + ("" if idempotent else UNCERTAIN), maybe_committed=not idempotent)
        status = data.get("StatusEnum")
        if status in (SUCCESS, "Success"):
            return data.get("Result")
        name = excerpt(str(data.get("Status") or status), 60)
        number = status if isinstance(status, int) else -1
        msg = f"smsconnector: {what}: {route} answered {excerpt(str(status), 20)} {name}"
        if number == INVALID_SESSION:
            msg += " (the session token was rejected after a fresh login; check the account)"
        cls = NotFoundStatus if number == NOT_FOUND else ApiStatusError
        raise cls(msg, number, name)

    # -- typed results ----------------------------------------------------------------------------
    @staticmethod
    def _texts(result: Any, what: str) -> list[str]:
        """A Result that must be a list of strings (numbers allowed: some fields are numeric)."""
        if result is None:
            return []
        if not isinstance(result, list) or not all(matches(item, (str, int)) for item in result):
            raise ProviderError(f"smsconnector: {what}: expected a list of text, got {_describe(result)}")
        return [str(item) for item in result]

    @staticmethod
    def _records(result: Any, shape: Shape, what: str) -> list[dict[str, Any]]:
        try:
            return records([] if result is None else result, shape)
        except ShapeError as exc:
            raise ProviderError(f"smsconnector: {what}: {exc}") from None

    @staticmethod
    def _id(result: Any, what: str, *, created: bool) -> int:
        """A Result that must be a whole number (a new id or a count)."""
        if isinstance(result, str) and result.strip().isdigit():
            result = int(result)
        if not matches(result, int):
            msg = f"smsconnector: {what}: expected a number as the Result, got {_describe(result)}"
            raise ProviderError(msg + (UNCERTAIN if created else ""), maybe_committed=created)
        return int(result)

    # -- company, folders, lists ------------------------------------------------------------------
    def headers(self) -> list[str]:
        """The company's active headers (From numbers)."""
        return self._texts(self._call("GET", "Company/GetHeaders", what="read headers"), "read headers")

    def brands(self) -> list[str]:
        """The company's brand names."""
        return self._texts(self._call("GET", "Company/GetBrands", what="read brands"), "read brands")

    def folders(self) -> list[dict[str, Any]]:
        """The user's folders: ``[{"FolderID", "Name", "ParentFolderID"}]`` (root 0 not included)."""
        folders = self._call("GET", "Users/GetFolders", what="read folders")
        return self._records(folders, FOLDER, "read folders")

    def lists(self, folder: int = 0) -> list[dict[str, Any]]:
        """PhoneListInfo of every list in ``folder`` (0 = root)."""
        segments = (folder,) if folder else ()
        what = f"read phone lists in folder {folder}"
        return self._records(self._call("GET", "Phonelists/GetLists", *segments, what=what), PHONE_LIST, what)

    def list_info(self, list_id: int) -> dict[str, Any]:
        """PhoneListInfo of one list (``GetList``)."""
        what = f"read phone list {list_id}"
        result = self._call("GET", "Phonelists/GetList", list_id, what=what)
        try:
            return PHONE_LIST.check(result)
        except ShapeError as exc:
            raise ProviderError(f"smsconnector: {what}: {exc}") from None

    def numbers(self, list_id: int) -> list[str]:
        """The numbers of one list, as stored."""
        what = f"read numbers of phone list {list_id}"
        return self._texts(self._call("GET", "Phonelists/GetNumbers", list_id, what=what), what)

    def create_list(self, name: str, folder: int) -> int:
        """Create an empty phone list; returns its ListID."""
        what = f"create phone list {name!r}"
        body = {"ListName": name, "Folder": folder}
        result = self._call("POST", "Phonelists/CreateList", body=body, idempotent=False, what=what)
        return self._id(result, what, created=True)

    def add_entries(self, list_id: int, numbers: Sequence[str], what: str) -> int:
        """AddMultipleEntries of ``numbers`` (API form) in one call; returns the stored count."""
        entries = [{"PhoneNumber": number} for number in numbers]
        body = {"ListID": list_id, "ListEntries": entries}
        stored = self._call("POST", "Phonelists/AddMultipleEntries", body=body, idempotent=False, what=what)
        return 0 if stored is None else self._id(stored, what, created=True)

    # -- campaigns --------------------------------------------------------------------------------
    def create_campaign(self, fields: Mapping[str, Any], what: str) -> int:
        """CreateCampaign with ``fields`` (Title, Text, Folder, Brand, FromNumber, LaunchAt)."""
        result = self._call("POST", "Campaigns/CreateCampaign", body=fields, idempotent=False, what=what)
        return self._id(result, what, created=True)

    def link(self, campaign: int, list_id: int, what: str) -> None:
        body = {"CampaignID": campaign, "ListID": list_id}
        self._call("POST", "Campaigns/LinkCampaignAndPhonelist", body=body, what=what)

    def unlink(self, campaign: int, list_id: int, what: str) -> None:
        self._call("DELETE", "Campaigns/UnlinkCampaignAndPhonelist",
                   body={"CampaignID": campaign, "ListID": list_id}, what=what)

    def launch(self, campaign: int, what: str) -> None:
        self._call("POST", "Campaigns/LaunchCampaign", body={"CampaignID": campaign}, what=what)

    def stop(self, campaign: int, what: str) -> None:
        self._call("POST", "Campaigns/StopCampaign", body={"CampaignID": campaign}, what=what)

    # -- opt-outs ---------------------------------------------------------------------------------
    def stops(self) -> list[Any]:
        """Every STOP event: ``{"PhoneNumber", "Date"}`` items or bare number strings."""
        return self._events(self._call("GET", "Status/GetAllStops", what="read STOPs"), "read STOPs")

    def reinstates(self) -> list[Any]:
        """Every START event, in the same shapes as :meth:`stops`."""
        return self._events(self._call("GET", "Status/GetAllReinstates", what="read STARTs"), "read STARTs")

    @staticmethod
    def _events(result: Any, what: str) -> list[Any]:
        event = Shape("event", {}, {"PhoneNumber": (str, int, NONE), "Date": (str, NONE)})
        if result is None:
            return []
        if not isinstance(result, list):
            raise ProviderError(f"smsconnector: {what}: expected a list of events, got {_describe(result)}")
        for index, item in enumerate(result):
            if not matches(item, (str, int)):
                try:
                    event.check(item, f"item {index + 1}")
                except ShapeError as exc:
                    raise ProviderError(f"smsconnector: {what}: {exc}") from None
        return result


def _describe(value: Any) -> str:
    """What a wrong Result was, without quoting more than a little of it."""
    if isinstance(value, (list, dict)):
        return f"{type_name(value)} of {len(value)}"
    return f"{type_name(value)} {excerpt(repr(value), 40)}"
