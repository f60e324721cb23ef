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
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner, Result

from reconciler import secrets
from reconciler.cli import main
from reconciler.emulator import Emulator, Server
from tests.faults.schedules import Harness, Site, new_emulator, write_site

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


@dataclass
class Served:
    """An emulator served on its own loopback port, and a config repository pointing at it."""

    provider: str
    emulator: Emulator
    server: Server
    site: Site

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

    def spawn(self, *args: str, **kwargs: Any) -> subprocess.Popen[str]:
        """Start ``python -m reconciler.cli ARGS`` in the repository's directory."""
        return subprocess.Popen([sys.executable, "-m", "reconciler.cli", *args], cwd=self.root, env=self.env(),
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, **kwargs)

    def run(self, *args: str, timeout: float = 60) -> subprocess.CompletedProcess[str]:
        """Run ``python -m reconciler.cli ARGS`` to completion."""
        return subprocess.run([sys.executable, "-m", "reconciler.cli", *args], cwd=self.root, env=self.env(),
                              capture_output=True, text=True, timeout=timeout, check=False)


def serve(provider: str, root: Path, faults: str | None = None) -> Served:
    """Start a fresh emulator of ``provider`` on its own port and write a config repository for it."""
    emulator = new_emulator(provider, faults)
    server = Server(emulator).start()
    saved = set(secrets._secrets)
    try:
        site = write_site(provider, root, server.url)
    finally:
        secrets._secrets.clear()
        secrets._secrets.update(saved)
    return Served(provider, emulator, server, site)


@pytest.fixture
def served(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Served]:
    """An emulator of the provider named by the test's ``provider`` parameter, with a config repository."""
    running = serve(request.param if hasattr(request, "param") else "intouch", tmp_path / "repo")
    yield running
    running.server.stop()
    running.emulator.db.close()


def free_port_base() -> int:
    """A port base whose three sandbox ports (base+1..base+3) are free right now."""
    for _ in range(50):
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            base = probe.getsockname()[1] - 1
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
