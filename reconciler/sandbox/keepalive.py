"""The loopback HTTP/1.1 server the emulators run on: keep-alive, one thread per connection.

werkzeug's development server answers every request with ``Connection: close``, so each request
of a client opened a new TCP connection: a refresh of 1,000 member lists made 1,000 connects and
the emulator, not the client, was the bottleneck. The vendors' servers keep connections alive,
and so does this one. Request bodies are read whole before the app runs (an app that ignores a
body cannot leave it in the stream to be read as the next request); answers carry a
``Content-Length``. :meth:`KeepAliveServer.close_connections` ends the open connections, so a
stopped server stops answering at once, as a real outage would.
"""

from __future__ import annotations

import io
import logging
import socket
import threading
from collections.abc import Callable, Iterable
from typing import Any

from werkzeug.serving import ThreadedWSGIServer, WSGIRequestHandler

log = logging.getLogger(__name__)

# Hop-by-hop headers the server decides itself (RFC 9110 section 7.6.1).
_HOP_BY_HOP = frozenset({"connection", "keep-alive", "transfer-encoding", "content-length"})


class KeepAliveHandler(WSGIRequestHandler):
    """Serves requests of one connection until the client closes it or asks to."""

    protocol_version = "HTTP/1.1"
    server: KeepAliveServer

    def setup(self) -> None:
        super().setup()
        # Headers and body leave in two writes; with Nagle's algorithm on, the second waits for
        # the client's delayed ACK (tens of milliseconds per request on loopback). Servers in
        # front of the real APIs send without that wait, and so do we.
        self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.server.track(self.connection, add=True)

    def finish(self) -> None:
        self.server.track(self.connection, add=False)
        try:
            super().finish()
        except OSError:
            pass  # the peer or close_connections() already closed it

    def run_wsgi(self) -> None:
        """Answer one request (the base class calls this once per request line)."""
        environ = self.make_environ()
        try:
            body = _read_body(environ)
        except (OSError, ValueError):
            self.close_connection = True
            self._send(["400 BAD REQUEST", [("Content-Type", "text/plain")]], b"unreadable body", head=False)
            return
        environ["wsgi.input"] = io.BytesIO(body)
        environ["CONTENT_LENGTH"] = str(len(body))
        environ.pop("wsgi.input_terminated", None)
        started: list[Any] = []

        def start_response(
            status: str, headers: list[tuple[str, str]], exc_info: Any = None
        ) -> Callable[..., Any]:
            started[:] = [status, headers]
            return chunks.append

        chunks: list[bytes] = []
        try:
            result: Iterable[bytes] = self.server.app(environ, start_response)
            try:
                chunks.extend(result)
            finally:
                close = getattr(result, "close", None)
                if close is not None:
                    close()
        except Exception:  # an app bug: a 500, as a real server would answer
            log.exception("emulator server: %s %s failed", self.command, self.path)
            started[:] = ["500 INTERNAL SERVER ERROR", [("Content-Type", "text/plain")]]
            chunks = [b"Internal Server Error"]
            self.close_connection = True
        self._send(started, b"".join(chunks), head=environ["REQUEST_METHOD"] == "HEAD")

    def _send(self, started: list[Any], payload: bytes, head: bool) -> None:
        status, headers = started
        code, _, reason = status.partition(" ")
        try:
            self.send_response(int(code), reason)
            for name, value in headers:
                if name.lower() not in _HOP_BY_HOP:
                    self.send_header(name, value)
            if int(code) >= 200 and int(code) not in (204, 304):
                self.send_header("Content-Length", str(len(payload)))
            if self.close_connection:
                self.send_header("Connection", "close")
            self.end_headers()
            if not head:
                self.wfile.write(payload)
            self.wfile.flush()
        except OSError:  # the client went away, or a fault dropped the connection
            self.close_connection = True

    def log_request(self, *args: Any, **kwargs: Any) -> None:
        pass

    def log(self, type: str, message: str, *args: Any) -> None:  # noqa: A002 - werkzeug's name
        if type == "error":
            log.debug(message, *args)


class KeepAliveServer(ThreadedWSGIServer):
    """werkzeug's threaded server with :class:`KeepAliveHandler` and a registry of connections."""

    def __init__(self, host: str, port: int, app: Any) -> None:
        self._connections: set[socket.socket] = set()
        self._connections_lock = threading.Lock()
        super().__init__(host, port, app, handler=KeepAliveHandler)

    def track(self, connection: socket.socket, *, add: bool) -> None:
        with self._connections_lock:
            if add:
                self._connections.add(connection)
            else:
                self._connections.discard(connection)

    def close_connections(self) -> None:
        """End every open connection (idle keep-alive ones included)."""
        with self._connections_lock:
            open_now = list(self._connections)
        for connection in open_now:
            try:
                connection.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass


def _read_body(environ: dict[str, Any]) -> bytes:
    """The whole request body: chunked (werkzeug dechunks it) or exactly Content-Length bytes."""
    if environ.get("wsgi.input_terminated"):
        data: bytes = environ["wsgi.input"].read()
        return data
    length = environ.get("CONTENT_LENGTH", "").strip()
    if not length:
        return b""
    size = int(length)
    if size < 0:
        raise ValueError(f"negative Content-Length {size}")
    data = environ["wsgi.input"].read(size)
    if len(data) != size:
        raise ValueError("the body ended before Content-Length")
    return data
