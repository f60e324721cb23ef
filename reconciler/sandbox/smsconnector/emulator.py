"""The 82830 SMSConnector Web API as a WSGI app over SQLite (docs/providers/smsconnector.md).

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

Test hooks: the Python methods of :class:`SmsConnectorStore` (``lists()``, ``numbers()``,
``campaigns()``, ``expire_sessions()``, ``add_stop()``, ``add_reinstate()``, ...) and
``POST /__emulator__/`` ``expire_sessions``, ``stop`` and ``start`` (body
``{"PhoneNumber": ..., "Date": ...}``).

This module routes requests, keeps sessions and answers the security and company functions
(sections 2 and 4); the parts live beside it: the wire format in :mod:`.wire`, the
SQLite schema, seed and test hooks in :mod:`.store`, and the handlers of sections 5-6
in :mod:`.lists` and of sections 7-8 in :mod:`.messaging`.
"""

from __future__ import annotations

import json
from secrets import token_hex
from typing import Any

from werkzeug.wrappers import Request, Response

from reconciler.sandbox.smsconnector.lists import SmsConnectorListHandlers
from reconciler.sandbox.smsconnector.messaging import SmsConnectorMessagingHandlers
from reconciler.sandbox.smsconnector.store import SANDBOX_CREDENTIALS
from reconciler.sandbox.smsconnector.wire import (
    INVALID_SESSION,
    ROUTES,
    STATUS_NAMES,
    SUCCESS,
    Call,
    Fail,
    FrameworkError,
    Route,
    json_response,
)

__all__ = ["SANDBOX_CREDENTIALS", "SmsConnectorEmulator"]


class SmsConnectorEmulator(SmsConnectorListHandlers, SmsConnectorMessagingHandlers):
    """Fake 82830 SMSConnector Web API for one company; see the module docstring."""

    name = "smsconnector"

    # -- framework --------------------------------------------------------------------------------
    def throttle_response(self) -> Response:
        # ASSUMPTION: no throttle in the reference
        return json_response({"Message": "Too many requests"}, 429)

    def error_response(self, status: int) -> Response:
        return json_response({"Message": "An error has occurred."}, status)

    def handle(self, request: Request) -> Response:
        try:
            route, args = self._route(request)
            if route.handler == "foo":
                return Response(status=204)  # api/Foo "does nothing"
            body = self._body(request) if request.method in ("POST", "DELETE") else None
            raw = {str(k).lower(): v for k, v in body.items()} if isinstance(body, dict) else {}
            query = {k.lower(): v for k, v in request.args.items()}
            if route.session == "none":
                return json_response(getattr(self, "_" + route.handler)(Call("", args, query, body, raw)))
            token = str(raw.get("sessiontoken") or "") if route.session == "body" else args.pop(0)
            user = self._session(token)
            try:
                if user is None:
                    raise Fail(INVALID_SESSION)
                call = Call(user, args, query, body, raw)
                result = getattr(self, "_" + route.handler)(call)
                if route.handler == "logout":
                    self.db.execute("DELETE FROM sessions WHERE token = ?", (token,))
            except Fail as fail:
                default = route.default if fail.default is None else fail.default
                return json_response({"StatusEnum": fail.status, "Status": STATUS_NAMES[fail.status],
                                      "Result": default})
            return json_response({"StatusEnum": SUCCESS, "Status": "Success", "Result": result})
        except FrameworkError as exc:
            return json_response({"Message": str(exc)}, exc.code)

    def _route(self, request: Request) -> tuple[Route, list[str]]:
        parts = [p for p in request.path.split("/") if p]
        not_found = FrameworkError(404, "No HTTP resource was found that matches the request URI "
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
                raise FrameworkError(405, "The requested resource does not support http method "
                                          f"'{request.method}'.")
            return route, args
        raise not_found

    @staticmethod
    def _body(request: Request) -> Any:
        mimetype = request.mimetype or "application/json"
        if "xml" in mimetype or "form" in mimetype:
            raise FrameworkError(415, f"The request entity's media type '{mimetype}' is not supported "
                                      "for this resource.")
        text = request.get_data(as_text=True)
        if not text.strip():
            return None
        try:
            return json.loads(text)
        except ValueError:
            raise FrameworkError(400, "The request is invalid.") from None

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

    def _login(self, call: Call) -> dict[str, Any]:
        row = self.db.execute("SELECT username FROM users WHERE lower(username) = lower(?) AND password = ?",
                              (str(call.get("username") or ""), str(call.get("password") or ""))).fetchone()
        return self._open_session(row["username"]) if row else self._logon_result(None, None)

    def _reusable_user(self, call: Call) -> str | None:
        token = call.body if isinstance(call.body, str) else call.get("token") or call.get("reusabletoken")
        row = self.db.execute("SELECT username FROM reusable_tokens WHERE token = ?",
                              (str(token or ""),)).fetchone()
        return str(row["username"]) if row else None

    def _login_with_reusable_token(self, call: Call) -> dict[str, Any]:
        user = self._reusable_user(call)
        return self._open_session(user) if user else self._logon_result(None, None)

    def _verify_reusable_token(self, call: Call) -> dict[str, Any]:
        return self._logon_result(self._reusable_user(call), None)

    def _request_reusable_token(self, call: Call) -> str:
        token = token_hex(20)
        self.db.execute("INSERT INTO reusable_tokens VALUES (?, ?)", (token, call.user))
        return token

    def _logout(self, call: Call) -> str:
        return ""

    # -- company and users (section 4) -----------------------------------------------------------
    def _get_headers(self, call: Call) -> list[str]:
        return self._company("header")

    def _get_brands(self, call: Call) -> list[str]:
        return self._company("brand")

    def _get_folders(self, call: Call) -> list[dict[str, Any]]:
        return [{"FolderID": r["id"], "Name": r["name"], "ParentFolderID": r["parent"]}
                for r in self.db.execute("SELECT * FROM folders ORDER BY id")]

    def _get_folders_basic(self, call: Call) -> list[dict[str, Any]]:
        return [{"FolderID": f["FolderID"], "Name": f["Name"]} for f in self._get_folders(call)]

    def _get_current_user_info(self, call: Call) -> dict[str, Any]:
        row = self.db.execute("SELECT * FROM users WHERE username = ?", (call.user,)).fetchone()
        return {"Username": row["username"], "Firstname": row["firstname"], "Surname": row["surname"],
                "PhoneNumber": row["phone"], "Company": "ACME", "Email": row["email"]}

    def _test(self, call: Call) -> str:
        return "Test"
