"""A hostile HTTP server that any provider's tests can put in front of an emulator.

``Hostile(app)`` is a WSGI app that passes requests to ``app`` until a test arms it with a rule:
a redirect to another origin, a garbage or escape-laden body, a huge body, a body dripped one
byte at a time, or any ``Request -> Response | None`` function. Every arming method takes
``match``, a predicate choosing the requests it applies to (the others reach the emulator, so a
login can pass and the create after it be attacked); ``after`` lets that many matching requests
through first. ``Sink`` is a loopback server that records every request it receives, so a test
can prove that nothing (credentials included) reached it.
"""

from __future__ import annotations

import io
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from werkzeug.serving import BaseWSGIServer, WSGIRequestHandler, make_server
from werkzeug.wrappers import Request, Response

from reconciler.sandbox.server import Server


class _Quiet(WSGIRequestHandler):
    def log_request(self, *args: Any, **kwargs: Any) -> None:
        pass

    def log(self, type: str, message: str, *args: Any) -> None:  # noqa: A002 - werkzeug's name
        pass


class StreamingServer:
    """A loopback server that sends each answer as the app yields it (HTTP/1.0, one request per
    connection): the emulators' keep-alive server buffers whole answers, which would hide a drip."""

    def __init__(self, app: Any) -> None:
        self._server: BaseWSGIServer = make_server("127.0.0.1", 0, app, threaded=True, request_handler=_Quiet)
        self.port = self._server.port
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> StreamingServer:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=5)


Rule = Callable[[Request], Response | None]
Match = Callable[[Request], bool]
# Terminal control sequences a hostile server may put in an answer: clear screen, red text, an OSC
# window title, a bidi override; each must reach the user escaped.
ESCAPES = "\x1b[2J\x1b[31mFAKE: Apply complete\x1b]0;pwned\x07\u202eevil"


def everything(request: Request) -> bool:
    return True


def posts(request: Request) -> bool:
    return request.method == "POST"


def path_contains(*parts: str) -> Match:
    """A predicate for requests whose path contains any of ``parts``."""
    return lambda request: any(part in request.path for part in parts)


class Hostile:
    """WSGI middleware: answers with ``rule(request)`` when the rule returns a response."""

    def __init__(self, app: Any) -> None:
        self.app = app
        self.rule: Rule | None = None
        self.hits = 0  # requests the rule answered
        self.closed = threading.Event()  # set by close(): a dripping body stops

    def close(self) -> None:
        self.closed.set()

    def arm(
        self,
        answer: Callable[[Request], Response],
        match: Match = everything,
        after: int = 0,
        forward: bool = False,
    ) -> None:
        """Answer matching requests (after letting ``after`` of them through) with ``answer(request)``.

        With ``forward`` the emulator handles the request first (a create is committed) and its
        answer is replaced: the server did the work and then said something unreadable.
        """
        seen = 0
        lock = threading.Lock()

        def rule(request: Request) -> Response | None:
            nonlocal seen
            if not match(request):
                return None
            with lock:
                seen += 1
                if seen <= after:
                    return None
                self.hits += 1
            if forward:
                self._forward(request)
            return answer(request)

        self.rule = rule

    def _forward(self, request: Request) -> None:
        body = request.get_data()  # cached by werkzeug; the emulator reads it from a fresh stream
        environ = dict(request.environ)
        environ["wsgi.input"] = io.BytesIO(body)
        environ["CONTENT_LENGTH"] = str(len(body))
        for _ in self.app(environ, lambda *args, **kwargs: None):
            pass

    def body(
        self,
        body: bytes | str,
        *,
        status: int = 200,
        content_type: str = "text/html",
        match: Match = everything,
        after: int = 0,
        forward: bool = False,
    ) -> None:
        """Answer with a fixed body: garbage (``<html>OK</html>``), escapes, the wrong JSON shape."""
        data = body.encode("utf-8") if isinstance(body, str) else body
        self.arm(lambda _: Response(data, status=status, content_type=content_type), match, after, forward)

    def huge(
        self,
        size: int,
        *,
        declare_length: bool = False,
        status: int = 200,
        content_type: str = "application/json",
        match: Match = everything,
        after: int = 0,
    ) -> None:
        """Answer with ``size`` bytes (a JSON array of spaces), streamed in 64 KiB chunks."""

        def chunks() -> Iterable[bytes]:
            sent, block = 2, b" " * 65536
            yield b"["
            while sent < size and not self.closed.is_set():
                part = block[: min(len(block), size - sent)]
                sent += len(part)
                yield part
            yield b"]"

        def answer(_: Request) -> Response:
            headers = {"Content-Length": str(size)} if declare_length else {}
            return Response(chunks(), status=status, content_type=content_type, headers=headers)

        self.arm(answer, match, after)

    def drip(
        self,
        *,
        every: float = 0.2,
        limit: float = 15.0,
        status: int = 200,
        match: Match = everything,
        after: int = 0,
    ) -> None:
        """Send headers at once, then one byte of a JSON array every ``every`` seconds (for at most
        ``limit`` seconds, or until :meth:`close`)."""

        def chunks() -> Iterable[bytes]:
            yield b"["
            stop = time.monotonic() + limit
            while time.monotonic() < stop and not self.closed.wait(every):
                yield b" "
            yield b"]"

        self.arm(lambda _: Response(chunks(), status=status, content_type="application/json"), match, after)

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


@contextmanager
def hostile_emulator(
    provider: str, **options: Any
) -> Iterator[tuple[Hostile, StreamingServer, Any, dict[str, str]]]:
    """An emulator of ``provider`` behind a Hostile front on its own loopback port.

    Yields the front, the server, the emulator and its sandbox credentials. The front is closed
    (any dripping body stops) and the server stopped on exit.
    """
    from reconciler.sandbox import emulator_class

    cls, credentials = emulator_class(provider)
    front = Hostile(cls(**options))
    server = StreamingServer(front).start()
    try:
        yield front, server, front.app, credentials
    finally:
        front.close()
        server.stop()


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
