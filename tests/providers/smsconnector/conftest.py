"""Fixtures for the SMSConnector tests: an emulator on a loopback port with a fake clock."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
import requests

from reconciler.config.types import AccountConfig
from reconciler.providers.smsconnector.client import SmsConnectorClient
from reconciler.providers.smsconnector.provider import SmsConnectorProvider
from reconciler.sandbox.server import Mount, Server
from reconciler.sandbox.smsconnector.emulator import SANDBOX_CREDENTIALS, SmsConnectorEmulator
from tests.support import FakeClock

# 2026-11-22T12:00:00Z: campaigns in the tests are sent in 2027, i.e. in the future.
START = 1_795_348_800.0


class Api:
    """A raw HTTP view of the emulator for conformance tests: JSON in, JSON out."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.http = requests.Session()

    def call(self, method: str, path: str, body: Any = None, **kwargs: Any) -> requests.Response:
        if body is not None:
            kwargs["json"] = body
        return self.http.request(method, f"{self.url}/{path.lstrip('/')}", timeout=10, **kwargs)

    def ok(self, method: str, path: str, body: Any = None, **kwargs: Any) -> Any:
        """The Result of a call that must succeed."""
        response = self.call(method, path, body, **kwargs)
        assert response.status_code == 200, response.text
        data = response.json()
        assert data["StatusEnum"] == 0, data
        return data["Result"]

    def login(self) -> str:
        data = self.call(
            "POST",
            "api/Security/Login",
            {"Username": SANDBOX_CREDENTIALS["username"], "Password": SANDBOX_CREDENTIALS["password"]},
        ).json()
        assert data["Status"] == "Success"
        return str(data["Token"])


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock(START)


@pytest.fixture
def emulator(clock: FakeClock) -> SmsConnectorEmulator:
    return SmsConnectorEmulator(clock=clock)


@pytest.fixture
def server(mounted_server: tuple[Server, Mount], emulator: SmsConnectorEmulator) -> Iterator[Server]:
    """The loopback server, answering with this test's emulator."""
    srv, mount = mounted_server
    mount.app = emulator
    yield srv
    mount.app = None


@pytest.fixture
def api(server: Server) -> Iterator[Api]:
    view = Api(server.url)
    yield view
    view.http.close()


@pytest.fixture
def client(server: Server) -> Iterator[SmsConnectorClient]:
    smsc = SmsConnectorClient(server.url, SANDBOX_CREDENTIALS)
    yield smsc
    smsc.close()


def account(url: str, **credentials: str) -> AccountConfig:
    """An smsconnector account on the emulator (sandbox credentials unless given)."""
    return AccountConfig(
        name="uk",
        provider="smsconnector",
        region="GB",
        url=url,
        credentials=credentials or dict(SANDBOX_CREDENTIALS),
    )


@pytest.fixture
def provider(server: Server) -> Iterator[SmsConnectorProvider]:
    smsc = SmsConnectorProvider(account(server.url))
    yield smsc
    smsc.close()
