"""A hostile HTTP server that any provider's tests can put in front of an emulator.

``Hostile(app)`` is a WSGI app that passes requests to ``app`` until a test arms it with a rule:
a redirect to another origin, for now. ``Sink`` is a loopback server that records every request it
receives, so a test can prove that nothing (credentials included) reached it.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from werkzeug.wrappers import Request, Response

from reconciler.sandbox.server import Server

Rule = Callable[[Request], Response | None]


class Hostile:
    """WSGI middleware: answers with ``rule(request)`` when the rule returns a response."""

    def __init__(self, app: Any) -> None:
        self.app = app
        self.rule: Rule | None = None

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Any:
        if self.rule is not None:
            answer = self.rule(Request(environ))
            if answer is not None:
                return answer(environ, start_response)
        return self.app(environ, start_response)

    def redirect_to(self, target: str, status: int = 307) -> None:
        """Answer every request with a redirect to the same path and query at ``target``'s origin."""

        def rule(request: Request) -> Response:
            query = request.query_string.decode("latin-1")
            location = target.rstrip("/") + request.path + (f"?{query}" if query else "")
            return Response("", status=status, headers={"Location": location})

        self.rule = rule


@dataclass
class Received:
    method: str
    path: str
    query: str
    headers: dict[str, str]
    body: bytes


@dataclass
class Sink:
    """A loopback server that records and answers 200 to anything."""

    requests: list[Received] = field(default_factory=list)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Any:
        request = Request(environ)
        with self._lock:
            self.requests.append(
                Received(
                    request.method,
                    request.path,
                    request.query_string.decode("latin-1"),
                    dict(request.headers),
                    request.get_data(),
                )
            )
        return Response("{}", content_type="application/json")(environ, start_response)


@contextmanager
def sink_server() -> Iterator[tuple[Sink, Server]]:
    """A running Sink on its own loopback port (another origin than any emulator)."""
    sink = Sink()
    server = Server(sink).start()
    try:
        yield sink, server
    finally:
        server.stop()
