"""A request without body or parameters is copied from one prepared per method (issue 11): what
reaches the server is what ``session.request`` sends."""

from __future__ import annotations

import time
from collections.abc import Iterator

import pytest

from reconciler.http import HttpClient
from reconciler.pool import READERS, read_all
from tests.support import JsonHandler, serving


class _Recorder(JsonHandler):
    seen: list[tuple[str, str, dict[str, str]]] = []

    def _record(self) -> None:
        _Recorder.seen.append((self.command, self.path, dict(self.headers)))
        cookie = (("Set-Cookie", "session=abc; Path=/"),) if self.path.endswith("/login") else ()
        self.answer(b"{}", cookie)

    do_GET = do_DELETE = _record  # noqa: N815 - http.server's names


@pytest.fixture
def server() -> Iterator[str]:
    _Recorder.seen = []
    with serving(_Recorder) as url:
        yield url + "/api"


def _client(url: str) -> HttpClient:
    client = HttpClient(url, headers={"Accept": "application/json"})
    client.session.auth = ("user@example.com", "s3cret-pass")
    return client


PATHS = ["groups/7/contacts", "contacts/phonenumber/+47 905 50 817", "søk/ærlig", "a?b=c"]


@pytest.mark.parametrize("path", PATHS)
def test_a_bodiless_request_reaches_the_server_as_session_request_sends_it(server: str, path: str) -> None:
    fast = _client(server)
    for method in ("GET", "DELETE", "GET"):
        fast.request(method, path, idempotent=True, what="read")
    # An empty params argument takes session.request itself: the reference.
    slow = _client(server)
    slow.request("GET", path, idempotent=True, what="read", params={})
    (m1, p1, h1), (m2, p2, h2), (m3, p3, h3), (m4, p4, h4) = _Recorder.seen
    assert (m1, m2, m3, m4) == ("GET", "DELETE", "GET", "GET")
    assert p1 == p2 == p3 == p4
    assert h1 == h3 == h4 and h1["Authorization"].startswith("Basic ")
    assert h1["Accept"] == "application/json" and h1["User-Agent"].startswith("reconciler/")
    assert {k: v for k, v in h2.items() if k != "Content-Length"} == h1  # DELETE says it has no body


def test_a_cookie_the_server_sets_goes_with_the_next_requests(server: str) -> None:
    client = _client(server)
    client.request("GET", "login", idempotent=True, what="log in")
    client.request("GET", "groups", idempotent=True, what="list groups")
    client.request("GET", "groups", idempotent=True, what="list groups")
    assert "Cookie" not in _Recorder.seen[0][2]
    assert [seen[2].get("Cookie") for seen in _Recorder.seen[1:]] == ["session=abc", "session=abc"]


class _KeepAlive(JsonHandler):
    protocol_version = "HTTP/1.1"
    ports: set[int] = set()

    def do_GET(self) -> None:  # noqa: N802 - http.server's name
        _KeepAlive.ports.add(self.client_address[1])
        time.sleep(0.05)  # long enough for every reader to be in flight at once
        self.answer()


def test_concurrent_readers_keep_their_connections_for_the_next_reads() -> None:
    """Every refresh reader's connection is kept for reuse (requests keeps 10 by default): two
    rounds of READERS concurrent reads open READERS connections, not more."""
    _KeepAlive.ports = set()
    with serving(_KeepAlive) as url:
        client = HttpClient(url + "/api")
        def read(n: int) -> object:
            return client.request("GET", f"l/{n}", idempotent=True, what="read")

        try:
            for _ in range(2):
                read_all(read, range(READERS))
            assert len(_KeepAlive.ports) == READERS
        finally:
            client.close()
