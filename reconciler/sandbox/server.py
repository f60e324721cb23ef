"""Shared machinery of the provider emulators: WSGI over SQLite, counters, throttle, faults.

Each provider's ``emulator.py`` subclasses :class:`Emulator` and implements its API in
``handle``; this module gives them one request lock and transaction per request, request counters
that tests and benchmarks read, a requests-per-minute throttle, seeded fault injection and a
loopback server to run them on.

Fault spec (``reconciler sandbox --faults SPEC``, or ``Faults.parse`` in tests): comma-separated
rules ``kind[:param=value...]`` plus an optional ``seed=N``. Kinds: ``throttle`` (the provider's
throttle answer), ``error`` (HTTP 500, nothing committed), ``latency`` (``ms=``), ``drop`` (close the
connection without an answer, nothing committed), ``commit-then-error`` (the request is processed and
committed, then answered with 500). Params: ``every=K`` (every K-th matching request), ``p=0.1``
(probability), ``times=N`` (at most N injections), ``method=POST``, ``path=substring``.
Example: ``seed=7,throttle:every=5,commit-then-error:p=0.05:method=POST``.
"""

from __future__ import annotations

import json
import logging
import random
import socket
import sqlite3
import threading
import time
from abc import ABC, abstractmethod
from collections import Counter, deque
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from werkzeug.wrappers import Request, Response

from reconciler.sandbox.keepalive import KeepAliveServer

log = logging.getLogger(__name__)

FAULT_KINDS = ("throttle", "error", "latency", "drop", "commit-then-error")


class FaultSpecError(ValueError):
    """A --faults spec that cannot be read."""


@dataclass
class FaultRule:
    kind: str
    every: int = 0
    p: float = 0.0
    times: int = 0
    ms: int = 0
    method: str = ""
    path: str = ""
    seen: int = 0
    fired: int = 0

    def matches(self, method: str, path: str) -> bool:
        if self.method and self.method.upper() != method.upper():
            return False
        return not self.path or self.path.lower() in path.lower()


@dataclass
class Faults:
    """A seeded, reproducible fault schedule."""

    rules: list[FaultRule] = field(default_factory=list)
    seed: int = 0

    def __post_init__(self) -> None:
        self.rng = random.Random(self.seed)

    @classmethod
    def parse(cls, spec: str | None) -> Faults:
        rules: list[FaultRule] = []
        seed = 0
        for part in (spec or "").split(","):
            part = part.strip()
            if not part:
                continue
            if part.startswith("seed="):
                try:
                    seed = int(part[5:])
                except ValueError:
                    raise FaultSpecError(f"fault spec: seed must be an integer, got {part[5:]!r}") from None
                continue
            kind, *params = part.split(":")
            if kind not in FAULT_KINDS:
                raise FaultSpecError(
                    f"fault spec: unknown fault {kind!r} (choose from {', '.join(FAULT_KINDS)})"
                )
            rule = FaultRule(kind)
            for param in params:
                name, sep, value = param.partition("=")
                if not sep or name not in ("every", "p", "times", "ms", "method", "path"):
                    raise FaultSpecError(
                        f"fault spec: bad parameter {param!r} in {part!r} "
                        "(use every=K, p=0.1, times=N, ms=N, method=VERB, path=TEXT)"
                    )
                try:
                    setattr(
                        rule,
                        name,
                        float(value) if name == "p" else value if name in ("method", "path") else int(value),
                    )
                except ValueError:
                    raise FaultSpecError(f"fault spec: {name} needs a number in {part!r}") from None
            if not (rule.every or rule.p) and rule.kind != "latency":
                rule.every = 1
            rules.append(rule)
        return cls(rules, seed)

    def pick(self, method: str, path: str) -> list[FaultRule]:
        """The rules that fire for this request (at most one besides latency)."""
        fired: list[FaultRule] = []
        for rule in self.rules:
            if not rule.matches(method, path):
                continue
            rule.seen += 1
            if rule.times and rule.fired >= rule.times:
                continue
            hit = (rule.every and rule.seen % rule.every == 0) or (rule.p and self.rng.random() < rule.p)
            if rule.kind == "latency" and not (rule.every or rule.p):
                hit = True
            if hit and (rule.kind == "latency" or not any(r.kind != "latency" for r in fired)):
                rule.fired += 1
                fired.append(rule)
        return fired


class Emulator(ABC):
    """Base WSGI app of a provider emulator.

    Subclasses set ``name`` and ``schema`` (SQL run once), and implement ``handle`` (one request,
    inside a transaction: an exception rolls it back and answers 500), ``throttle_response`` and
    ``error_response``. ``clock`` gives the emulator's idea of now (epoch seconds); tests replace it.
    """

    name = "emulator"
    schema = ""

    def __init__(
        self,
        db_path: str = ":memory:",
        *,
        rpm_limit: int | None = None,
        faults: Faults | str | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.db = sqlite3.connect(db_path, check_same_thread=False, isolation_level=None)
        self.db.row_factory = sqlite3.Row
        self.db.execute("PRAGMA foreign_keys = ON")
        if db_path != ":memory:":
            self.db.execute("PRAGMA journal_mode = WAL")
        self.lock = threading.RLock()
        self.rpm_limit = rpm_limit
        self.faults = faults if isinstance(faults, Faults) else Faults.parse(faults)
        self.clock = clock
        self.counts: Counter[tuple[str, str]] = Counter()
        self._window: dict[str, deque[float]] = {}
        with self.lock:
            self.db.executescript(self.schema)
            self.setup()

    # -- for subclasses -------------------------------------------------------------------------
    def setup(self) -> None:  # noqa: B027 - optional hook, empty by default
        """Seed fixed data (users, settings) after the schema exists. Default: nothing."""

    @abstractmethod
    def handle(self, request: Request) -> Response:
        """Answer one API request (inside a transaction)."""

    def throttle_response(self) -> Response:
        return Response("Too Many Requests", status=429, content_type="text/plain")

    def error_response(self, status: int) -> Response:
        return Response("", status=status, content_type="text/plain")

    def credential_of(self, request: Request) -> str:
        """The identity a throttle counts against; default: the whole emulator."""
        return ""

    def control(self, action: str, request: Request) -> Response | None:
        """Provider-specific test hooks under ``/__emulator__/<action>``; None if unknown."""
        return None

    # -- helpers for tests -------------------------------------------------------------------------
    def count(self, method: str | None = None, path: str | None = None) -> int:
        """Requests seen, optionally only of one method and/or paths containing ``path``."""
        return sum(
            n
            for (m, p), n in self.counts.items()
            if (method is None or m == method) and (path is None or path.lower() in p.lower())
        )

    def reset_counts(self) -> None:
        self.counts.clear()

    @contextmanager
    def transaction(self) -> Iterator[sqlite3.Connection]:
        with self.lock:
            self.db.execute("BEGIN IMMEDIATE")
            try:
                yield self.db
            except BaseException:
                self.db.execute("ROLLBACK")
                raise
            else:
                self.db.execute("COMMIT")

    # -- WSGI -------------------------------------------------------------------------------------
    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Any:
        request = Request(environ)
        response = self._respond(request, environ)
        return response(environ, start_response)

    def _respond(self, request: Request, environ: dict[str, Any]) -> Response:
        path = request.path
        if path.startswith("/__emulator__/"):
            return self._control(path.removeprefix("/__emulator__/"), request)
        with self.lock:
            self.counts[(request.method, path)] += 1
            fired = self.faults.pick(request.method, path)
        for rule in fired:
            if rule.kind == "latency":
                time.sleep(rule.ms / 1000.0)
        kinds = {rule.kind for rule in fired}
        if self._over_limit(request) or "throttle" in kinds:
            return self.throttle_response()
        if "error" in kinds:
            return self.error_response(500)
        if "drop" in kinds:
            _drop(environ)
            return Response("", status=500)
        try:
            with self.transaction():
                response = self.handle(request)
        except Exception:  # an emulator bug or a body it cannot read: a 500, as a real server would
            log.exception("%s emulator: %s %s failed", self.name, request.method, path)
            return self.error_response(500)
        if "commit-then-error" in kinds:
            return self.error_response(500)
        return response

    def _over_limit(self, request: Request) -> bool:
        if not self.rpm_limit:
            return False
        now = self.clock()
        with self.lock:
            window = self._window.setdefault(self.credential_of(request), deque())
            while window and window[0] <= now - 60:
                window.popleft()
            if len(window) >= self.rpm_limit:
                return True
            window.append(now)
        return False

    def _control(self, action: str, request: Request) -> Response:
        if action == "counts":
            body = {f"{m} {p}": n for (m, p), n in sorted(self.counts.items())}
            return Response(json.dumps(body), content_type="application/json")
        if action == "faults" and request.method == "POST":
            try:
                self.faults = Faults.parse(request.get_data(as_text=True))
            except FaultSpecError as exc:
                return Response(str(exc), status=400, content_type="text/plain")
            return Response("ok", content_type="text/plain")
        with self.lock:
            custom = self.control(action, request)
        return custom or Response("unknown emulator control", status=404, content_type="text/plain")


def _drop(environ: dict[str, Any]) -> None:
    sock = environ.get("werkzeug.socket")
    if sock is not None:
        try:
            sock.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass


class Mount:
    """A WSGI app that forwards to whichever emulator is mounted now.

    Tests and benchmarks keep one server running and mount a fresh emulator per case, which is much
    faster than starting and stopping a server each time.
    """

    def __init__(self) -> None:
        self.app: Emulator | None = None

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Any:
        if self.app is None:
            idle = Response("no emulator mounted", status=503, content_type="text/plain")
            return idle(environ, start_response)
        return self.app(environ, start_response)


class Server:
    """Runs a WSGI app on a loopback port in a background thread (HTTP/1.1, keep-alive)."""

    def __init__(self, app: Any, host: str = "127.0.0.1", port: int = 0) -> None:
        self.app = app
        self._server = KeepAliveServer(host, port, app)
        self.host = host
        self.port = self._server.port
        self._thread = threading.Thread(
            target=self._server.serve_forever,
            kwargs={"poll_interval": 0.05},
            name=f"emulator:{self.port}",
            daemon=True,
        )

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    def start(self) -> Server:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._server.close_connections()
        self._thread.join(timeout=5)

    def __enter__(self) -> Server:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
