"""The proxy and CA variables are read once per client, as requests reads them (issue 11)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from reconciler.errors import ReconcilerError
from reconciler.http import HttpClient
from tests.support import JsonHandler, serving


class _Proxy(JsonHandler):
    seen: list[str] = []

    def do_GET(self) -> None:  # noqa: N802 - http.server's name
        _Proxy.seen.append(self.path)  # a proxy is asked for the absolute URL
        self.answer()


@pytest.fixture
def proxy() -> Iterator[str]:
    _Proxy.seen = []
    with serving(_Proxy) as url:
        yield url


def test_requests_go_through_the_proxy_the_environment_names(
    proxy: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("HTTP_PROXY", proxy)
    monkeypatch.delenv("NO_PROXY", raising=False)
    monkeypatch.delenv("no_proxy", raising=False)
    client = HttpClient("http://127.0.0.2:9/api")  # nothing listens there: only the proxy answers
    for _ in range(2):
        response = client.request("GET", "groups", idempotent=True, what="list groups")
        assert response.status_code == 200
    assert _Proxy.seen == ["http://127.0.0.2:9/api/groups"] * 2
    assert client.session.trust_env is False  # read once, not per request


def test_no_proxy_sends_the_host_direct(proxy: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HTTP_PROXY", proxy)
    monkeypatch.setenv("NO_PROXY", "127.0.0.2")
    client = HttpClient("http://127.0.0.2:9/api")
    with pytest.raises(ReconcilerError):
        client.request("GET", "groups", idempotent=True, what="list groups")
    assert _Proxy.seen == []


def test_a_ca_bundle_variable_is_the_client_s_trust(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", "/etc/ssl/certs/corporate.pem")
    assert HttpClient("https://api.example.com/").session.verify == "/etc/ssl/certs/corporate.pem"
    monkeypatch.delenv("REQUESTS_CA_BUNDLE")
    monkeypatch.delenv("CURL_CA_BUNDLE", raising=False)
    assert HttpClient("https://api.example.com/").session.verify is True
