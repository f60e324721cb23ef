"""The InTime Messenger HTTP API 1.0 as a WSGI app over SQLite (docs/providers/intime.md).

Served under ``/api/1.0/``. Every function of the reference is here with its exact element names
(the ``deletigroup`` spelling and ``<deletigroups>`` root included), ``user``/``hash`` query
authentication, ISO-8859-1 XML bodies, plain-text id lists and ``N:ERRORM`` codes answered with
HTTP 200. Dates are Swedish local time (Europe/Stockholm) taken from ``self.clock``; a message
with a future ``senddate`` is "scheduled" until then and "sent" afterwards.

Throttling is not defined by the reference; over ``rpm_limit`` the emulator answers HTTP 503
``text/plain`` "Too many requests" (an ASSUMPTION documented in docs/providers/intime.md).
Test helpers (``groups()``, ``contacts()``, ``nix()``, ``reminders()``, ``messages()``,
``add_group``, ``add_reminder`` ...) inspect and tamper with the SQLite data directly.

This module routes requests and authenticates them; the parts live beside it: the wire format
in :mod:`.wire`, the SQLite schema, seed and test helpers in :mod:`.store`,
and the request handlers in :mod:`.contacts` (sections 5, 6) and
:mod:`.messages` (sections 4, 7).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from werkzeug.wrappers import Request, Response

from reconciler.sandbox.intime.contacts import IntimeContactHandlers
from reconciler.sandbox.intime.messages import IntimeMessageHandlers
from reconciler.sandbox.intime.store import SANDBOX_CREDENTIALS
from reconciler.sandbox.intime.wire import Fail, parse_document, plain_response
from reconciler.sandbox.server import Faults

__all__ = ["PREFIX", "SANDBOX_CREDENTIALS", "IntimeEmulator"]

PREFIX = "/api/1.0/"


class IntimeEmulator(IntimeContactHandlers, IntimeMessageHandlers):
    """InTime Messenger API 1.0 under ``/api/1.0/``; seeds the ``SANDBOX_CREDENTIALS`` account."""

    name = "intime"

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

    # -- framework hooks ------------------------------------------------------------------------
    def throttle_response(self) -> Response:
        return plain_response("Too many requests", status=503)

    def credential_of(self, request: Request) -> str:
        return request.args.get("user", "")

    def handle(self, request: Request) -> Response:
        route = (
            self.routes.get(request.path.removeprefix(PREFIX)) if request.path.startswith(PREFIX) else None
        )
        if route is None:
            return plain_response("Not Found", status=404)
        kind, handler = route
        self.last_request = {
            "method": request.method,
            "path": request.path,
            "body": request.get_data(),
            "content_type": request.headers.get("Content-Type", ""),
        }
        allowed = ("GET", "POST") if kind == "list" else ("POST",)
        if request.method not in allowed:
            response = plain_response("Method Not Allowed", status=405)
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
                    raise Fail("0:ERROR2")
                response = handler(user, parse_document(body))
        except Fail as fail:
            self.db.execute("ROLLBACK TO call")
            response = plain_response(fail.code)
        self.db.execute("RELEASE call")
        return response

    def _authenticate(self, request: Request) -> str:
        user, secret = request.args.get("user", ""), request.args.get("hash", "")
        if not user or not secret:
            raise Fail("0:ERROR1")
        row = self.db.execute("SELECT hash FROM users WHERE user = ?", (user,)).fetchone()
        if row is None or row["hash"] != secret:
            raise Fail("0:ERROR3")
        return user
