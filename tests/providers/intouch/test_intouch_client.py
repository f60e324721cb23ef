"""The Intouch HTTP client against the emulator: auth, retries, status mapping, wire parsing."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest
import requests

from reconciler.errors import NotFound, ProviderError, RateLimited, TransportError, Unauthorized
from reconciler.providers.intouch.client import IntouchClient, created_id, format_date, parse_date
from reconciler.sandbox.intouch.emulator import SANDBOX_CREDENTIALS, THROTTLE_TEXT, IntouchEmulator


def _response(status: int, body: bytes = b"", headers: dict[str, str] | None = None) -> requests.Response:
    response = requests.Response()
    response.status_code = status
    response._content = body
    response.headers.update(headers or {})
    return response


def test_throttled_calls_are_retried_then_succeed(clock: Any, serve: Any) -> None:
    """Two throttle answers (503 + the throttle text) are retried without sleeping, then the call succeeds."""
    emulator = IntouchEmulator(clock=clock, faults="throttle:times=2")
    emulator.add_group("Staff")
    client = IntouchClient(serve(emulator) + "/2", **SANDBOX_CREDENTIALS)
    assert [g["Name"] for g in client.groups()] == ["Staff"]
    assert emulator.count("GET", "/2/groups") == 3
    client.close()


def test_throttled_post_is_retried_too(clock: Any, serve: Any) -> None:
    """A throttle answer means nothing was done, so even a create is retried."""
    emulator = IntouchEmulator(clock=clock, faults="throttle:times=1:method=POST")
    client = IntouchClient(serve(emulator) + "/2", **SANDBOX_CREDENTIALS)
    assert client.create_group({"Name": "Staff"}) > 0
    assert len(emulator.groups()) == 1
    client.close()


def test_endless_throttle_raises_rate_limited(
    clock: Any, serve: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """When the throttle never lifts the client gives up with RateLimited after its attempts."""
    monkeypatch.setenv("RECONCILER_RETRY_ATTEMPTS", "3")
    emulator = IntouchEmulator(clock=clock, rpm_limit=1)
    client = IntouchClient(serve(emulator) + "/2", **SANDBOX_CREDENTIALS)
    client.groups()
    with pytest.raises(RateLimited, match="intouch: list groups: throttled"):
        client.groups()
    assert emulator.count("GET") == 4
    client.close()


def test_is_throttled_needs_the_throttle_text() -> None:
    """A 503 is a throttle only with the documented text; a plain 503 is a server error."""
    client = IntouchClient("http://127.0.0.1:1/2", **SANDBOX_CREDENTIALS)
    assert client.is_throttled(_response(503, THROTTLE_TEXT.encode()))
    assert not client.is_throttled(_response(503, b"Service Unavailable"))
    assert not client.is_throttled(_response(429, THROTTLE_TEXT.encode()))
    client.close()


def test_server_error_retried_for_reads_not_for_creates(clock: Any, serve: Any) -> None:
    """A 500 is retried for GET; for POST it raises at once, marked as possibly committed."""
    emulator = IntouchEmulator(clock=clock, faults="error:times=1:method=GET,error:times=1:method=POST")
    client = IntouchClient(serve(emulator) + "/2", **SANDBOX_CREDENTIALS)
    assert client.contacts() == []
    with pytest.raises(TransportError, match="not retried") as caught:
        client.create_contact({"PhoneNumber": "4790555817"}, "+4790555817")
    assert caught.value.maybe_committed  # type: ignore[attr-defined]
    assert emulator.count("POST") == 1
    client.close()


def test_406_is_unauthorized_without_the_password(v2: str) -> None:
    """A refused login maps to Unauthorized with advice and never shows the password."""
    password = "very-secret-wrong-password"
    client = IntouchClient(v2, username="demo", domain="example.com", password=password)
    with pytest.raises(Unauthorized) as caught:
        client.groups()
    message = str(caught.value)
    assert "check username, domain and password, and that the API feature is enabled" in message
    assert "HTTP 406" in message
    assert password not in message and password not in repr(caught.value.args)
    client.close()


def test_status_mapping_404_and_400(client: IntouchClient) -> None:
    """404 is NotFound; 400 is a ProviderError naming the operation and the API's reason."""
    with pytest.raises(NotFound, match="read contact 999"):
        client.contact(999)
    with pytest.raises(
        ProviderError, match=r"intouch: create contact 12ab: HTTP 400 bad request: PhoneNumber"
    ):
        client.create_contact({"PhoneNumber": "12ab"})
    gid = client.create_group({"Name": "Staff"})
    with pytest.raises(ProviderError, match="create group 'Staff': HTTP 400"):
        client.create_group({"Name": "Staff"})
    cid = client.create_contact({"PhoneNumber": "4790555817"})
    with pytest.raises(NotFound, match="remove member"):
        client.remove_member(gid, cid)


def test_v1_and_v2_creates_both_give_ids(client: IntouchClient, server: Any) -> None:
    """The client reads the new id from a v1 object answer and from a v2 bare-id answer alike."""
    v1 = IntouchClient(server.url + "/1", **SANDBOX_CREDENTIALS)
    first = v1.create_contact({"PhoneNumber": "4790555817"})
    second = client.create_contact({"PhoneNumber": "4790555818"})
    assert (first, second) == (1, 2)
    assert v1.create_group({"Name": "A"}) == 1 and client.create_group({"Name": "B"}) == 2
    v1.close()


def test_created_id_forms() -> None:
    """Create answers: a bare number, an object with the id field, or only a Location header."""
    assert created_id(_response(201, b"42"), "ContactId") == 42
    assert created_id(_response(200, b'{"ContactId": 7, "Firstname": "Ann"}'), "ContactId") == 7
    assert created_id(_response(201, b"", {"Location": "https://x/2/groups/15"}), "GroupId") == 15
    assert created_id(_response(201, b'"16"'), "GroupId") == 16
    with pytest.raises(ProviderError, match="no GroupId"):
        created_id(_response(201, b"true"), "GroupId")


def test_dates_in_both_forms() -> None:
    """Microsoft JSON dates parse with and without escaped slashes and with any offset."""
    expected = datetime(2008, 7, 28, 11, 14, 8, 767000, tzinfo=UTC)
    assert parse_date("\\/Date(1217243648767+0200)\\/") == expected
    assert parse_date("/Date(1217243648767)/") == expected
    assert parse_date("/Date(1217243648767-0500)/") == expected
    assert parse_date(None) is None
    assert parse_date(format_date(expected)) == expected
    with pytest.raises(ProviderError, match="unreadable date"):
        parse_date("2008-07-28")


def test_every_endpoint_the_provider_uses(client: IntouchClient, emulator: IntouchEmulator) -> None:
    """Groups, contacts, members and the user round-trip through the client methods."""
    gid = client.create_group({"Name": "Staff", "Description": "d"})
    client.update_group(gid, {"Name": "Staff", "Description": "new", "IsPrivate": True})
    assert client.group(gid)["Description"] == "new"
    cid = client.create_contact({"PhoneNumber": "4790555817", "Firstname": "Ann"})
    client.update_contact(cid, {**client.contact(cid), "Lastname": "Lie"})
    assert client.contact_by_number("4790555817")["Lastname"] == "Lie"
    assert client.count_contacts() == 1
    client.add_member(gid, cid)
    client.add_member(gid, cid)
    assert [m["ContactId"] for m in client.members(gid)] == [cid]
    client.remove_member(gid, cid)
    client.delete_group(gid)
    client.delete_contact(cid)
    assert client.groups() == [] and client.contacts() == []
    assert "ALLOW_API" in client.user()["AllowedFunctions"]
    assert emulator.count("PUT") == 4


def test_sends_basic_auth_json_and_user_agent(client: IntouchClient) -> None:
    """Every call carries user@domain Basic credentials, JSON headers and our User-Agent."""
    assert client.session.auth == ("demo@example.com", SANDBOX_CREDENTIALS["password"])
    assert client.session.headers["Accept"] == "application/json"
    assert str(client.session.headers["User-Agent"]).startswith("reconciler/")
