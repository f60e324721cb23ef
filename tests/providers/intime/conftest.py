"""Fixtures for the InTime provider tests: an emulator on a loopback port, a client, a provider."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime

import pytest
import requests

from reconciler import secrets
from reconciler.config.types import AccountConfig
from reconciler.providers.intime.client import IntimeClient
from reconciler.providers.intime.provider import IntimeProvider
from reconciler.sandbox.intime.emulator import SANDBOX_CREDENTIALS, IntimeEmulator
from reconciler.sandbox.server import Mount, Server
from tests.support import FakeClock

DECL = '<?xml version="1.0" encoding="iso-8859-1"?>\n'
START = datetime(2026, 11, 22, 10, 0, tzinfo=UTC).timestamp()


@pytest.fixture(autouse=True)
def _no_backoff(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("RECONCILER_RETRY_SCALE", "0")


@pytest.fixture(autouse=True)
def _own_secrets(monkeypatch: pytest.MonkeyPatch) -> None:
    # Loading a config registers every credential value (user "demo" too) in the process-wide
    # registry; keep what these tests register from redacting other tests' messages.
    monkeypatch.setattr(secrets, "_secrets", set(secrets._secrets))


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock(START)


@pytest.fixture
def emulator(clock: FakeClock) -> IntimeEmulator:
    return IntimeEmulator(clock=clock)


@pytest.fixture
def server(emulator: IntimeEmulator, mounted_server: tuple[Server, Mount]) -> Iterator[Server]:
    srv, mount = mounted_server
    mount.app = emulator
    yield srv
    mount.app = None


@pytest.fixture
def base_url(server: Server) -> str:
    return server.url + "/api/1.0"


@pytest.fixture
def client(base_url: str) -> Iterator[IntimeClient]:
    c = IntimeClient(base_url, SANDBOX_CREDENTIALS["user"], SANDBOX_CREDENTIALS["hash"])
    yield c
    c.close()


@pytest.fixture
def account(base_url: str) -> AccountConfig:
    return AccountConfig(
        name="clinic", provider="intime", region="SE", url=base_url, credentials=dict(SANDBOX_CREDENTIALS)
    )


@pytest.fixture
def provider(account: AccountConfig, clock: FakeClock) -> Iterator[IntimeProvider]:
    p = IntimeProvider(account, clock=clock.datetime)
    yield p
    p.close()


class Raw:
    """Plain HTTP calls to the emulator, for wire conformance tests."""

    def __init__(self, base: str) -> None:
        self.base = base + "/"
        self.session = requests.Session()

    def post(
        self, path: str, xml: str | bytes, *, auth: dict[str, str] | None = None, declaration: bool = True
    ) -> requests.Response:
        body = xml if isinstance(xml, bytes) else ((DECL if declaration else "") + xml).encode("iso-8859-1")
        return self.session.post(
            self.base + path,
            params=SANDBOX_CREDENTIALS if auth is None else auth,
            data=body,
            headers={"Content-Type": "text/xml; charset=iso-8859-1"},
        )

    def get(self, path: str, *, auth: dict[str, str] | None = None, **params: str) -> requests.Response:
        query = {**(SANDBOX_CREDENTIALS if auth is None else auth), **params}
        return self.session.get(self.base + path, params=query)


@pytest.fixture
def raw(base_url: str) -> Iterator[Raw]:
    r = Raw(base_url)
    yield r
    r.session.close()
