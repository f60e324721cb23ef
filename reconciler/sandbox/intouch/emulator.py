"""The Intouch REST API as a WSGI app over SQLite (docs/providers/intouch.md).

Served under ``/1`` (v1: creates answer 200 + the object) and ``/2`` (v2: creates answer 201 +
``Location`` + the bare id), section 1. Data is scoped per Intouch domain (the organisation), so
two users of one domain see the same contacts and groups. JSON only (XML is optional in the
brief and not modelled); request bodies may be JSON or form-encoded (section 3).

This module authenticates and routes requests; the parts live beside it: the wire format in
:mod:`.wire`, the SQLite schema, seed and test helpers in :mod:`.store`, and
the request handlers in :mod:`.routes`.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from typing import Any

from werkzeug.wrappers import Request, Response

from reconciler.sandbox.intouch.routes import Context
from reconciler.sandbox.intouch.store import SANDBOX_CREDENTIALS, IntouchStore
from reconciler.sandbox.intouch.wire import THROTTLE_TEXT, Answer, fail
from reconciler.sandbox.server import Faults

__all__ = ["SANDBOX_CREDENTIALS", "THROTTLE_TEXT", "IntouchEmulator"]


class IntouchEmulator(IntouchStore):
    """The Intouch API for one or more users; the sandbox user is seeded on construction."""

    name = "intouch"

    def __init__(self, db_path: str = ":memory:", *, rpm_limit: int | None = None,
                 faults: Faults | str | None = None, clock: Callable[[], float] = time.time) -> None:
        super().__init__(db_path, rpm_limit=rpm_limit, faults=faults, clock=clock)

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
        except Answer as answer:
            return answer.response

    # -- routing ----------------------------------------------------------------------------------
    def _dispatch(self, request: Request) -> Response:
        parts = [p for p in request.path.split("/") if p]
        if not parts or parts[0] not in ("1", "2"):
            raise fail(404)
        user = self._authenticate(request)
        method = request.method.upper()
        if method == "POST" and request.headers.get("X-HTTP-Method-Override"):  # section 3.3
            method = request.headers["X-HTTP-Method-Override"].strip().upper()
            if method not in ("GET", "POST", "PUT", "DELETE"):
                raise fail(400, f"unknown X-HTTP-Method-Override {method!r}")
        ctx = Context(self, request, user, parts[0], method)
        resource, rest = (parts[1], parts[2:]) if len(parts) > 1 else ("", [])
        routes: dict[str, Callable[[list[str]], Response]] = {
            "user": ctx.user_route, "contacts": ctx.contacts_route, "groups": ctx.groups_route,
            "messages": ctx.messages_route, "folders": ctx.folders_route,
        }
        route = routes.get(resource)
        if route is None:
            raise fail(404)
        return route(rest)

    def _authenticate(self, request: Request) -> dict[str, Any]:
        """Section 2: Basic ``user@domain:password``; 406 with an empty body on any failure."""
        auth = request.authorization
        if auth is None or auth.type != "basic" or not auth.username or "@" not in auth.username:
            raise fail(406)
        username, _, domain = auth.username.rpartition("@")
        sql = "SELECT * FROM users WHERE username = ? COLLATE NOCASE AND domain = ? COLLATE NOCASE"
        row = self.db.execute(sql, (username, domain)).fetchone()
        if row is None or row["password"] != (auth.password or ""):
            raise fail(406)
        user = dict(row)
        user["functions"] = json.loads(row["functions"])
        if "ALLOW_API" not in user["functions"]:
            raise fail(406)
        return user
