"""Fixtures for the Intouch tests: an emulator on a loopback port, a client and a provider."""

from __future__ import annotations

from collections.abc import Callable, Iterator

import pytest

from reconciler.config.types import AccountConfig
from reconciler.providers.intouch.client import IntouchClient
from reconciler.providers.intouch.provider import IntouchProvider
from reconciler.sandbox.intouch.emulator import SANDBOX_CREDENTIALS, IntouchEmulator
from reconciler.sandbox.server import Mount, Server


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


@pytest.fixture
def serve(mounted_server: tuple[Server, Mount]) -> Iterator[Callable[[IntouchEmulator], str]]:
    """Mount an emulator on the worker's server for this test; returns the server's base URL."""
    srv, mount = mounted_server

    def mount_one(emulator: IntouchEmulator) -> str:
        mount.app = emulator
        return srv.url

    yield mount_one
    mount.app = None


@pytest.fixture
def server(
    serve: Callable[[IntouchEmulator], str], emulator: IntouchEmulator, mounted_server: tuple[Server, Mount]
) -> Server:
    serve(emulator)
    return mounted_server[0]


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
