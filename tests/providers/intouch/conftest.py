"""Fixtures for the Intouch tests: an emulator on a loopback port, a client and a provider."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest

from reconciler.config.types import AccountConfig
from reconciler.emulator import Server
from reconciler.providers.intouch.client import IntouchClient
from reconciler.providers.intouch.emulator import SANDBOX_CREDENTIALS, IntouchEmulator
from reconciler.providers.intouch.provider import IntouchProvider


class FakeClock:
    """A settable clock for the emulator (epoch seconds)."""

    def __init__(self, now: float = 1_800_000_000.0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


@pytest.fixture(autouse=True)
def _no_backoff(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("RECONCILER_RETRY_SCALE", "0")


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def emulator(clock: FakeClock) -> IntouchEmulator:
    return IntouchEmulator(clock=clock)


class Mount:
    """A WSGI app forwarding to the current test's emulator: one server per module, fresh data per test
    (stopping a server waits out its 0.5 s poll interval, too slow to pay for every test)."""

    def __init__(self) -> None:
        self.app: IntouchEmulator | None = None

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Any:
        assert self.app is not None, "no emulator mounted"
        return self.app(environ, start_response)


@pytest.fixture(scope="module")
def _mounted() -> Iterator[tuple[Mount, Server]]:
    mount = Mount()
    srv = Server(mount).start()
    yield mount, srv
    srv.stop()


@pytest.fixture
def serve(_mounted: tuple[Mount, Server]) -> Iterator[Callable[[IntouchEmulator], str]]:
    """Mount an emulator on the module's server for this test; returns the server's base URL."""
    mount, srv = _mounted

    def mount_one(emulator: IntouchEmulator) -> str:
        mount.app = emulator
        return srv.url

    yield mount_one
    mount.app = None


@pytest.fixture
def server(
    serve: Callable[[IntouchEmulator], str], emulator: IntouchEmulator, _mounted: tuple[Mount, Server]
) -> Server:
    serve(emulator)
    return _mounted[1]


@pytest.fixture
def v2(server: Server) -> str:
    return server.url + "/2"


@pytest.fixture
def client(v2: str) -> Iterator[IntouchClient]:
    c = IntouchClient(v2, **SANDBOX_CREDENTIALS)
    yield c
    c.close()


@pytest.fixture
def account(v2: str) -> AccountConfig:
    return AccountConfig(
        name="no-main", provider="intouch", region="NO", url=v2, credentials=dict(SANDBOX_CREDENTIALS)
    )


@pytest.fixture
def provider(account: AccountConfig) -> Iterator[IntouchProvider]:
    p = IntouchProvider(account)
    yield p
    p.close()
