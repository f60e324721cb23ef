"""The SMSConnector client against the emulator: session, envelope, errors and secrecy."""

from __future__ import annotations

import logging

import pytest

from reconciler.errors import NotFound, ProviderError, TransportError, Unauthorized
from reconciler.providers.smsconnector.client import ApiStatusError, SmsConnectorClient
from reconciler.sandbox.smsconnector.emulator import SANDBOX_CREDENTIALS


def test_logs_in_once_per_run_and_out_at_close(emulator, server):
    """Several calls share one Login; close() logs out and ends the session."""
    client = SmsConnectorClient(server.url, SANDBOX_CREDENTIALS)
    assert client.headers() == ["82830", "ACMELTD"]
    assert client.brands() == ["Acme"]
    assert client.lists() == []
    assert emulator.count("POST", "Security/Login") == 1
    assert emulator.sessions() == 1
    client.close()
    assert emulator.count("DELETE", "Security/Logout") == 1
    assert emulator.sessions() == 0


def test_token_in_path_for_get_and_in_body_for_post(emulator, client):
    """GET routes carry the token as a path segment, POST routes in the SessionToken body property."""
    list_id = client.create_list("VIP", 0)
    assert client.add_entries(list_id, ["447700900123"], "add") == 1
    assert client.numbers(list_id) == ["447700900123"]
    paths = [path for (_, path) in emulator.counts]
    assert any(p.startswith("/api/Phonelists/GetNumbers/") and p.endswith(f"/{list_id}") for p in paths)
    assert "/api/Phonelists/CreateList" in paths


def test_expired_session_is_renewed_once(emulator, client):
    """After the session expires, the client logs in again once and the call completes."""
    client.headers()
    emulator.expire_sessions()
    list_id = client.create_list("After expiry", 0)
    assert [x["ListID"] for x in client.lists()] == [list_id]
    assert emulator.count("POST", "Security/Login") == 2
    assert emulator.count("POST", "Phonelists/CreateList") == 2  # the rejected one and the retry
    assert len(emulator.lists()) == 1


def test_idle_expiry_renewed(emulator, client, clock):
    """A session idle longer than session_idle_seconds is renewed transparently."""
    client.headers()
    clock.advance(emulator.session_idle_seconds + 1)
    assert client.brands() == ["Acme"]
    assert client.logins == 2


def test_wrong_password_is_unauthorized_without_the_password(server):
    """A wrong password raises Unauthorized with a clear message that does not contain the password."""
    password = "wrong-password-1234"
    client = SmsConnectorClient(server.url, {"username": "demo", "password": password})
    with pytest.raises(Unauthorized) as caught:
        client.headers()
    message = str(caught.value)
    assert password not in message
    assert "InvalidCredentials" in message and "'demo'" in message and "password" in message
    client.close()


def test_missing_password_and_token(server):
    """Credentials without password or reusable_token are a clear Unauthorized error."""
    client = SmsConnectorClient(server.url, {"username": "demo"})
    with pytest.raises(Unauthorized, match="password or a reusable_token"):
        client.headers()
    client.close()


def test_reusable_token_login(emulator, server, client):
    """Credentials holding reusable_token log in with LoginWithReusableToken."""
    reusable = client._call("GET", "Security/RequestReusableToken", what="request a reusable token")
    other = SmsConnectorClient(server.url, {"username": "demo", "reusable_token": reusable})
    assert other.brands() == ["Acme"]
    assert emulator.count("POST", "Security/LoginWithReusableToken") == 1
    other.close()
    bad = SmsConnectorClient(server.url, {"username": "demo", "reusable_token": "not-a-token"})
    with pytest.raises(Unauthorized, match="reusable token") as caught:
        bad.brands()
    assert "not-a-token" not in str(caught.value)
    bad.close()


def test_status_errors_name_endpoint_and_status(client):
    """A non-zero StatusEnum raises naming the endpoint and the Status; 3 is NotFound."""
    with pytest.raises(NotFound) as caught:
        client.numbers(404)
    assert "Phonelists/GetNumbers answered 3 NotFound" in str(caught.value)
    with pytest.raises(ApiStatusError) as caught:
        client.create_campaign(
            {
                "Title": "x",
                "Text": "y",
                "Folder": 0,
                "FromNumber": "nope",
                "LaunchAt": "2027-01-01T09:00:00Z",
            },
            "create campaign 'x'",
        )
    assert caught.value.status == 2
    assert str(caught.value) == (
        "smsconnector: create campaign 'x': Campaigns/CreateCampaign answered 2 InvalidParameters"
    )


def test_token_never_in_messages_or_logs(emulator, client, caplog):
    """The session token is redacted from error messages (404 URLs included) and never logged."""
    caplog.set_level(logging.DEBUG)
    client.headers()
    token = client._token
    assert token
    emulator.faults = type(emulator.faults).parse("error")  # every request answers 500
    with pytest.raises(TransportError) as caught:
        client.brands()
    assert token not in str(caught.value) and "***" in str(caught.value)
    emulator.faults = type(emulator.faults).parse("")
    with pytest.raises(ProviderError) as missing:
        client._call("GET", "Company/NoSuchAction", what="read nothing")
    assert "HTTP 404" in str(missing.value) and token not in str(missing.value)
    emulator.expire_sessions()
    client.brands()
    client.close()
    assert token not in caplog.text
    assert SANDBOX_CREDENTIALS["password"] not in caplog.text


def test_create_is_not_retried_on_server_error(emulator, client):
    """A create that got a 500 is not repeated (it may have been committed)."""
    client.headers()
    emulator.faults = type(emulator.faults).parse("commit-then-error:path=CreateList")
    with pytest.raises(TransportError, match="not retried"):
        client.create_list("Once", 0)
    assert emulator.count("POST", "CreateList") == 1
    assert len(emulator.lists()) == 1


def test_reads_retry_throttle(emulator, client):
    """Throttled reads are retried until they pass."""
    client.headers()
    emulator.faults = type(emulator.faults).parse("throttle:times=2:path=GetBrands")
    assert client.brands() == ["Acme"]
    assert emulator.count("GET", "GetBrands") == 3


def test_link_unlink_launch_stop(emulator, client):
    """Link, Unlink (JSON body on DELETE), Launch and Stop drive the campaign's flag and links."""
    list_id = client.create_list("A", 0)
    campaign = client.create_campaign(
        {"Title": "x", "Text": "y", "Folder": 0, "FromNumber": "82830", "LaunchAt": "2027-01-01T09:00:00Z"},
        "create",
    )
    client.link(campaign, list_id, "link")
    client.launch(campaign, "launch")
    assert emulator.campaigns()[0]["armed"] and emulator.campaigns()[0]["lists"] == [list_id]
    client.stop(campaign, "stop")
    client.unlink(campaign, list_id, "unlink")
    assert not emulator.campaigns()[0]["armed"] and emulator.campaigns()[0]["lists"] == []
