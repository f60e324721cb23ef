"""Credentials never follow a redirect to another origin (scheme, host or port), for every provider."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from reconciler.providers.base import REGISTRY
from reconciler.sandbox import emulator_class
from reconciler.sandbox.server import Server
from tests.e2e.conftest import API_PATH, ENV_NAMES, URL_ENV, Emu, make_repo
from tests.hostile import Hostile, Sink, sink_server

PROVIDERS = tuple(REGISTRY)


@pytest.fixture
def hostile_front(request: pytest.FixtureRequest) -> Iterator[tuple[str, Hostile, Emu]]:
    """An emulator of the parametrized provider behind a Hostile front on a loopback port."""
    provider = request.param
    cls, credentials = emulator_class(provider)
    front = Hostile(cls())
    server = Server(front).start()
    url = server.url + API_PATH[provider]
    env = {ENV_NAMES[provider][k]: v for k, v in credentials.items()}
    env[URL_ENV[provider]] = url
    try:
        yield provider, front, Emu(front.app, url, env, credentials)
    finally:
        server.stop()


def _secrets(emu: Emu) -> list[str]:
    return [v for k, v in emu.credentials.items() if k in ("password", "hash")]


@pytest.mark.parametrize("hostile_front", PROVIDERS, indirect=True)
@pytest.mark.parametrize("status", [301, 302, 307, 308])
def test_cross_origin_redirect_is_refused(
    hostile_front: tuple[str, Hostile, Emu], status: int, tmp_path
) -> None:
    """A redirect to another port is an error naming the new location; the other origin gets nothing."""
    provider, front, emu = hostile_front
    with sink_server() as (sink, sink_srv):
        front.redirect_to(sink_srv.url, status=status)
        repo = make_repo(tmp_path, {"acct": (provider, emu)})
        result = repo.cli("plan", str(repo.root))
        assert result.exit_code == 1, result.output
        assert sink.requests == []
        assert "redirected" in result.output and "another origin" in result.output
        assert sink_srv.url in result.output
        assert "Traceback" not in result.output
        for secret in _secrets(emu):
            assert secret not in result.output


@pytest.mark.parametrize("hostile_front", PROVIDERS, indirect=True)
def test_same_origin_redirect_is_followed(hostile_front: tuple[str, Hostile, Emu], tmp_path) -> None:
    """A redirect that stays on the configured origin (a moved path) still works."""
    provider, front, emu = hostile_front
    moved = "/moved"

    def rule(request):
        from werkzeug.wrappers import Response

        if request.path.startswith(moved):
            request.environ["PATH_INFO"] = request.path[len(moved) :]
            return None
        query = request.query_string.decode("latin-1")
        location = moved + request.path + (f"?{query}" if query else "")
        return Response("", status=307, headers={"Location": location})

    front.rule = rule
    repo = make_repo(tmp_path, {"acct": (provider, emu)})
    result = repo.cli("plan", str(repo.root))
    assert result.exit_code == 0, result.output


def test_sink_records_what_it_receives() -> None:
    """The sink itself works, so an empty record means nothing arrived."""
    import requests

    with sink_server() as (sink, srv):
        requests.post(srv.url + "/x?hash=1", data=b"body", timeout=5)
    assert isinstance(sink, Sink) and len(sink.requests) == 1 and sink.requests[0].body == b"body"
