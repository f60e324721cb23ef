"""The InTime client against the emulator over HTTP: parsing, id mapping, errors, secrecy."""

from __future__ import annotations

import logging

import pytest

from reconciler.errors import NotFound, ProviderError, RateLimited, TransportError, Unauthorized
from reconciler.providers.intime.client import INACTIVE, ContactIn, IntimeClient, NothingRemoved
from reconciler.sandbox.intime.emulator import SANDBOX_CREDENTIALS, IntimeEmulator

SECRET = SANDBOX_CREDENTIALS["hash"]


def test_empty_listings_are_empty_lists(client, emulator):
    """2:ERROR1 from the three listing functions means an empty list, not an error."""
    assert client.list_groups() == []
    assert client.list_nix() == []
    assert client.list_reminders() == []
    assert emulator.count("GET") == 3


def test_ids_come_back_in_input_order(client, emulator):
    """Comma-separated ids map to the items in the order they were sent."""
    ids = client.add_groups(["Staff", "Patients", "Åsa Öberg"])
    assert {g["id"]: g["name"] for g in emulator.groups()} == dict(
        zip(ids, ["Staff", "Patients", "Åsa Öberg"], strict=True)
    )
    assert [(g.id, g.name) for g in client.list_groups()] == list(
        zip(ids, ["Staff", "Patients", "Åsa Öberg"], strict=True)
    )


def test_request_is_latin1_xml_with_declaration(client, emulator):
    """Write calls post ISO-8859-1 XML with the declaration and a text/xml charset header."""
    client.add_groups(["Välkommen"])
    sent = emulator.last_request
    assert sent["content_type"] == "text/xml; charset=iso-8859-1"
    assert sent["body"].startswith(b'<?xml version="1.0" encoding="iso-8859-1"?>')
    assert "Välkommen".encode("iso-8859-1") in sent["body"]


def test_id_count_mismatch_is_an_error(base_url, server):
    """An answer with fewer ids than items cannot be mapped back and raises."""

    class ShortAnswer(IntimeEmulator):
        def _add_groups(self, user, root):
            response = super()._add_groups(user, root)
            response.set_data(response.get_data().split(b",")[0])
            return response

    server.app.app = ShortAnswer()  # the shared server forwards to the emulator set here
    c = IntimeClient(base_url, "demo", SECRET)
    with pytest.raises(ProviderError, match="returned 1 id.s. for 2 item"):
        c.add_groups(["A", "B"])
    c.close()


def test_negative_edit_ids_are_reported_per_item(client, emulator):
    """A negative id from reminder/edit marks that reminder as inactive; the others succeed."""
    active = emulator.add_reminder("2026-12-01T08:30:00", "0709876543")
    inactive = emulator.add_reminder("2026-12-02T08:30:00", "0709876544", active=False)
    results = client.edit_reminders(
        [
            {"appointmentid": str(active), "attendant_lastname": "Lind"},
            {"appointmentid": str(inactive), "attendant_lastname": "Berg"},
        ]
    )
    assert [(r.id, r.ok, r.error) for r in results] == [(active, True, ""), (inactive, False, INACTIVE)]
    assert "inactive (InTime cannot edit inactive reminders)" in INACTIVE


def test_error_codes_say_what_they_mean_per_endpoint(client, emulator):
    """N:ERRORM codes become errors naming the operation and the meaning for that endpoint."""
    with pytest.raises(ProviderError, match=r"create contacts: 3:ERROR2 \(invalid mobile number\)"):
        client.add_contacts([ContactIn(type=1, mobile="123")])
    with pytest.raises(ProviderError, match=r"3:ERROR1 \(invalid e-mail address\)"):
        client.add_contacts([ContactIn(type=2, email="nope")])
    with pytest.raises(ProviderError, match=r"1:ERROR2 \(the send date is in the past\)"):
        client.create_message(
            sender="Klinik", body="Hej", send_date="2020-01-01T10:00:00", recipients=["+46701234567"]
        )
    with pytest.raises(NothingRemoved, match=r"2:ERROR2 \(unable to remove the message"):
        client.delete_message(123)
    with pytest.raises(NothingRemoved):
        client.delete_nix(["+46701234567"])
    with pytest.raises(NothingRemoved):
        client.delete_groups([5])


def test_wrong_credentials_raise_unauthorized_with_advice(base_url, server):
    """0:ERROR3 raises Unauthorized that explains what to check."""
    c = IntimeClient(base_url, "demo", "f" * 40)
    with pytest.raises(Unauthorized, match=r"0:ERROR3 \(user not verified.*check the account's credentials"):
        c.list_groups()
    c.close()


def test_text_outside_latin1_is_rejected_before_any_request(client, emulator):
    """An emoji in a body raises before anything is sent, naming the character."""
    with pytest.raises(ProviderError, match=r"U\+1F600.*ISO-8859-1"):
        client.create_message(sender="Klinik", body="Hej 😀", send_date=None, recipients=["+46701234567"])
    assert emulator.count() == 0


def test_deletes_are_retried_and_creates_are_not(client, emulator):
    """A 500 is retried for deletigroup (idempotent) but not for addgroup (may have been applied)."""
    gid = emulator.add_group("Old")
    emulator.faults = type(emulator.faults).parse(
        "error:path=deletigroup:times=1,error:path=addgroup:times=1"
    )
    assert client.delete_groups([gid]) == [gid]
    assert emulator.count("POST", "deletigroup") == 2
    with pytest.raises(TransportError, match="not retried"):
        client.add_groups(["New"])
    assert emulator.count("POST", "addgroup") == 1


def test_throttle_is_retried_then_reported(client, emulator, monkeypatch):
    """The 503 "Too many requests" answer is a throttle: retried, then RateLimited."""
    monkeypatch.setenv("RECONCILER_RETRY_ATTEMPTS", "3")
    c = IntimeClient(client.base_url, "demo", SECRET)
    emulator.rpm_limit = 1
    assert c.list_groups() == []
    with pytest.raises(RateLimited, match="throttled"):
        c.list_groups()
    assert emulator.count("GET", "listgroups") == 4
    c.close()


def test_hash_never_appears_in_errors_or_logs(base_url, server, emulator, caplog):
    """No exception text or log record (urllib3's request lines included) shows the hash."""
    caplog.set_level(logging.DEBUG)
    secret = "9f" * 20
    emulator.add_user("other", secret)
    errors = []
    good = IntimeClient(base_url, "other", secret)
    bad = IntimeClient(base_url, "demo", secret)  # wrong hash for demo
    lost = IntimeClient(base_url.replace("/api/1.0", "/nope"), "other", secret)
    emulator.faults = type(emulator.faults).parse("error:path=nix/list")
    for call in (
        bad.list_groups,
        lost.list_groups,
        good.list_nix,
        lambda: good.add_nix(["12"]),
        lambda: good.create_message(sender="Klinik", body="😀", send_date=None),
    ):
        with pytest.raises((ProviderError, NotFound)) as info:
            call()
        errors.append(str(info.value))
    assert good.list_groups() == []
    for c in (good, bad, lost):
        c.close()
    assert len(errors) == 5 and all(secret not in text for text in errors)
    assert any("hash=***" in text for text in errors)
    messages = [record.getMessage() for record in caplog.records]
    assert any("hash=***" in text for text in messages)  # urllib3's request lines were filtered
    assert all(secret not in text for text in messages)
    assert secret not in caplog.text
