"""Fixtures for the fault-tolerance tests: emulators served over loopback HTTP, config repositories.

The property test reuses one server per worker (``schedules.Harness``) and mounts a fresh
emulator per schedule. The subprocess tests (SIGKILL, concurrent applies, sandbox) serve one
emulator per test from this process, so the test can watch its request counter while
``python -m reconciler.cli`` talks to it.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import threading
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

import pytest
from click.testing import CliRunner, Result

from reconciler import secrets
from reconciler.cli import main
from reconciler.sandbox.server import Emulator, Server
from tests.faults.schedules import Harness, Site, new_emulator, reload_site, write_site

REPO_ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="session")
def harness(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Harness]:
    """One loopback server and one config repository per provider, for every schedule of this worker."""
    saved = set(secrets._secrets)
    running = Harness(tmp_path_factory.mktemp("schedules"))
    # Loading the configs registered the sandbox credentials ("demo"); keep them from redacting
    # other tests' messages in this worker.
    secrets._secrets.clear()
    secrets._secrets.update(saved)
    yield running
    running.close()


class Probe:
    """A WSGI wrapper around an emulator: a tripwire, and a meter of statuses and concurrency.

    ``arm(at, commit)`` holds the API request number ``at`` until :meth:`release`: with ``commit``
    the emulator processes (and commits) it first, so its answer is what gets lost; without, it is
    never processed (answered 500 once released). ``reached`` is set when that request arrives, so
    a test can kill the client while it waits. ``statuses`` counts answers by HTTP status and
    ``max_inflight`` is the most API requests the emulator was serving at once.
    """

    def __init__(self, app: Emulator) -> None:
        self.app = app
        self.at = 0
        self.commit = False
        self.seen = 0
        self.inflight = 0
        self.max_inflight = 0
        self.statuses: Counter[int] = Counter()
        self.reached = threading.Event()
        self._released = threading.Event()
        self._lock = threading.Lock()

    def arm(self, at: int, commit: bool) -> None:
        self.at, self.commit, self.seen = at, commit, 0
        self.reached.clear()
        self._released.clear()

    def release(self) -> None:
        self.at = 0
        self._released.set()

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Any:
        if environ.get("PATH_INFO", "").startswith("/__emulator__/"):
            return self.app(environ, start_response)
        with self._lock:
            self.seen += 1
            hit = bool(self.at) and self.seen == self.at
            self.inflight += 1
            self.max_inflight = max(self.max_inflight, self.inflight)

        def record(status: str, headers: Any, *rest: Any) -> Any:
            with self._lock:
                self.statuses[int(status.split()[0])] += 1
            return start_response(status, headers, *rest)

        try:
            if not hit:
                return self.app(environ, record)
            if self.commit:
                body = self.app(environ, record)
                self.reached.set()
                self._released.wait(timeout=60)
                return body
            self.reached.set()
            self._released.wait(timeout=60)
            record("500 INTERNAL SERVER ERROR", [("Content-Type", "text/plain")])
            return [b""]
        finally:
            with self._lock:
                self.inflight -= 1


class Lines:
    """The lines of a subprocess pipe, read on a thread, to wait for one without sleeping."""

    def __init__(self, pipe: IO[str]) -> None:
        self.lines: list[str] = []
        self._cond = threading.Condition()
        self._done = False
        threading.Thread(target=self._read, args=(pipe,), daemon=True).start()

    def _read(self, pipe: IO[str]) -> None:
        with pipe:
            for line in pipe:
                with self._cond:
                    self.lines.append(line.rstrip("\n"))
                    self._cond.notify_all()
        with self._cond:
            self._done = True
            self._cond.notify_all()

    def wait_for(self, predicate: Callable[[list[str]], bool], timeout: float = 30) -> bool:
        """True once ``predicate(lines)`` holds; False if the pipe closed or time ran out first."""
        with self._cond:
            return self._cond.wait_for(lambda: predicate(self.lines) or self._done, timeout) and predicate(
                self.lines
            )

    def closed(self, timeout: float = 30) -> bool:
        """True once the pipe was read to its end (and closed)."""
        with self._cond:
            return self._cond.wait_for(lambda: self._done, timeout)

    def text(self) -> str:
        with self._cond:
            return "\n".join(self.lines)


@dataclass
class Served:
    """An emulator served on its own loopback port, and a config repository pointing at it."""

    provider: str
    emulator: Any  # the provider's emulator class, with its inspection helpers
    server: Server
    site: Site
    probe: Probe

    @property
    def root(self) -> Path:
        return self.site.root

    @property
    def state_path(self) -> Path:
        return self.site.config.state_path

    def env(self) -> dict[str, str]:
        """Environment for a subprocess: the config's variables, zero retry backoff, no proxies."""
        env = {k: v for k, v in os.environ.items() if not k.lower().endswith("_proxy")}
        env.update(self.site.env)
        env["RECONCILER_RETRY_SCALE"] = "0"
        env["PYTHONPATH"] = str(REPO_ROOT)
        return env

    def cli(self, *args: str) -> Result:
        """Run the CLI in process (click's runner) with the config's environment."""
        return CliRunner(env=self.site.env).invoke(main, list(args), catch_exceptions=False)

    def reload(self) -> None:
        """Load the repository again after a test rewrote one of its files."""
        self.site = reload_site(self.site)

    def spawn(self, *args: str, **kwargs: Any) -> subprocess.Popen[str]:
        """Start ``python -m reconciler.cli ARGS`` in the repository's directory."""
        return subprocess.Popen(
            [sys.executable, "-m", "reconciler.cli", *args],
            cwd=self.root,
            env=self.env(),
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            **kwargs,
        )

    def run(self, *args: str, timeout: float = 60) -> subprocess.CompletedProcess[str]:
        """Run ``python -m reconciler.cli ARGS`` to completion."""
        return subprocess.run(
            [sys.executable, "-m", "reconciler.cli", *args],
            cwd=self.root,
            env=self.env(),
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
        )


def serve(provider: str, root: Path, faults: str | None = None, **options: Any) -> Served:
    """Start a fresh emulator of ``provider`` on its own port and write a config repository for it."""
    emulator = new_emulator(provider, faults, **options)
    probe = Probe(emulator)
    server = Server(probe).start()
    saved = set(secrets._secrets)
    try:
        site = write_site(provider, root, server.url)
    finally:
        secrets._secrets.clear()
        secrets._secrets.update(saved)
    return Served(provider, emulator, server, site, probe)


@pytest.fixture
def serve_repo(tmp_path: Path) -> Iterator[Callable[..., Served]]:
    """``serve_repo(provider, faults=None)``: a served emulator and its repository, stopped after the test."""
    started: list[Served] = []

    def start(provider: str, faults: str | None = None, name: str = "repo", **options: Any) -> Served:
        running = serve(provider, tmp_path / name, faults, **options)
        started.append(running)
        return running

    yield start
    for running in started:
        running.probe.release()
        running.server.stop()
        running.emulator.db.close()


_CLEAN_COUNTS: dict[str, int] = {}


@pytest.fixture
def clean_request_count(tmp_path: Path) -> Callable[[str], int]:
    """``clean_request_count(provider)``: API requests of a fault-free apply of the tiny config (cached)."""

    def count(provider: str) -> int:
        if provider not in _CLEAN_COUNTS:
            running = serve(provider, tmp_path / f"count-{provider}")
            try:
                result = running.cli("apply", str(running.root), "--auto-approve")
                assert result.exit_code == 0, result.output
                _CLEAN_COUNTS[provider] = running.emulator.count()
            finally:
                running.server.stop()
                running.emulator.db.close()
        return _CLEAN_COUNTS[provider]

    return count


def free_port_base() -> int:
    """A port base whose three sandbox ports (base+1..base+3) are free right now."""
    for _ in range(50):
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            base = int(probe.getsockname()[1]) - 1
        if base + 3 > 65000:
            continue
        try:
            for offset in (1, 2, 3):
                with socket.socket() as s:
                    s.bind(("127.0.0.1", base + offset))
        except OSError:
            continue
        return base
    raise RuntimeError("no three consecutive free loopback ports")
