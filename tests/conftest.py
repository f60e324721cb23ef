"""Suite-wide settings: retries never sleep, and no test reaches beyond loopback."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from reconciler import secrets
from reconciler.sandbox.server import Mount, Server


@pytest.fixture(scope="session")
def mounted_server() -> Iterator[tuple[Server, Mount]]:
    """One loopback server per test worker; tests mount their own emulator on it."""
    mount = Mount()
    server = Server(mount).start()
    yield server, mount
    server.stop()


@pytest.fixture(autouse=True)
def _own_secrets(monkeypatch: pytest.MonkeyPatch) -> None:
    """Secrets registered by one test (a config's credentials) don't redact another test's text."""
    monkeypatch.setattr(secrets, "_secrets", set(secrets._secrets))


@pytest.fixture(autouse=True)
def _fast_retries(monkeypatch: pytest.MonkeyPatch) -> None:
    """Retries use zero backoff so throttling tests don't sleep."""
    monkeypatch.setenv("RECONCILER_RETRY_SCALE", "0")


def pytest_addoption(parser: pytest.Parser) -> None:
    """Register ``--update-golden``: write rendered output to tests/golden/ instead of comparing."""
    parser.addoption(
        "--update-golden",
        action="store_true",
        default=False,
        help="rewrite the golden files in tests/golden/ from the current output (review the diff)",
    )
