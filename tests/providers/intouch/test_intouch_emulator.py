"""Conformance of the Intouch emulator to the wire reference, over real HTTP with raw requests."""

from __future__ import annotations

from typing import Any

import pytest
import requests

from reconciler.sandbox.intouch.emulator import SANDBOX_CREDENTIALS, THROTTLE_TEXT, IntouchEmulator
from reconciler.sandbox.server import Server

AUTH = (f"{SANDBOX_CREDENTIALS['username']}@{SANDBOX_CREDENTIALS['domain']}", SANDBOX_CREDENTIALS["password"])


def test_missing_or_wrong_credentials_answer_406_with_empty_body(v2: str) -> None:
    """Section 2: no credentials, a wrong password or a user without @domain get 406 and no body."""
    for auth in (
        None,
        (AUTH[0], "wrong"),
        ("demo", SANDBOX_CREDENTIALS["password"]),
        ("nobody@example.com", "x"),
    ):
        response = requests.get(f"{v2}/contacts", auth=auth)
        assert response.status_code == 406
        assert response.content == b""


def test_user_without_allow_api_is_refused(emulator: IntouchEmulator, v2: str) -> None:
    """Section 2 ASSUMPTION: a user whose AllowedFunctions lack ALLOW_API gets 406."""
    emulator.add_user("noapi", "example.com", "pw-noapi", functions=("SEND_SMS",))
    assert requests.get(f"{v2}/user", auth=("noapi@example.com", "pw-noapi")).status_code == 406


def test_missing_permission_answers_406_for_writes_only(emulator: IntouchEmulator, v2: str) -> None:
    """Section 8 ASSUMPTION: contact writes need EDIT_CONTACT, group writes EDIT_GROUP, folders READ_SMS."""
    emulator.add_user("reader", "example.com", "pw-reader", functions=("ALLOW_API",))
    auth = ("reader@example.com", "pw-reader")
    assert requests.get(f"{v2}/contacts", auth=auth).status_code == 200
    assert requests.post(f"{v2}/contacts", json={"PhoneNumber": "4790555817"}, auth=auth).status_code == 406
    assert requests.post(f"{v2}/groups", json={"Name": "Staff"}, auth=auth).status_code == 406
    assert requests.get(f"{v2}/folders", auth=auth).status_code == 406
    assert (
        requests.post(f"{v2}/messages", json={"Text": "x", "Receivers": "4790555817"}, auth=auth).status_code
        == 406
    )


def test_wrong_case_property_answers_406(v2: str) -> None:
    """Section 3: property names are case-sensitive; FirstName instead of Firstname is a 406."""
    response = requests.post(
        f"{v2}/contacts", json={"PhoneNumber": "4790555817", "FirstName": "Ann"}, auth=AUTH
    )
    assert response.status_code == 406


def test_non_integer_id_is_405_unknown_id_and_path_404(v2: str) -> None:
    """Section 3.1: a text id is 405, an unknown id or endpoint is 404 with an empty body."""
    assert requests.get(f"{v2}/contacts/abc", auth=AUTH).status_code == 405
    assert requests.get(f"{v2}/groups/abc", auth=AUTH).status_code == 405
    missing = requests.get(f"{v2}/contacts/999", auth=AUTH)
    assert (missing.status_code, missing.content) == (404, b"")
    assert requests.get(f"{v2}/nothing", auth=AUTH).status_code == 404
    assert requests.patch(f"{v2}/contacts/1", auth=AUTH).status_code in (404, 405)


def test_v1_create_answers_200_with_the_object(server: Server) -> None:
    """Section 4.1/5.1: v1 creates answer 200 and the object with its new id."""
    contact = requests.post(
        f"{server.url}/1/contacts", json={"PhoneNumber": "4790555817", "Firstname": "Ann"}, auth=AUTH
    )
    assert contact.status_code == 200
    assert contact.json()["ContactId"] > 0 and contact.json()["Firstname"] == "Ann"
    group = requests.post(f"{server.url}/1/groups", json={"Name": "Staff"}, auth=AUTH)
    assert group.status_code == 200
    assert set(group.json()) == {"Description", "GroupId", "IsPrivate", "Name"}


def test_v2_create_answers_201_location_and_bare_id(v2: str) -> None:
    """Section 4.1/5.1: v2 creates answer 201, a Location header and the bare id as body."""
    response = requests.post(f"{v2}/contacts", json={"PhoneNumber": "4790555817"}, auth=AUTH)
    assert response.status_code == 201
    ident = response.json()
    assert isinstance(ident, int)
    assert response.headers["Location"].endswith(f"/2/contacts/{ident}")
    group = requests.post(f"{v2}/groups", json={"Name": "Staff"}, auth=AUTH)
    assert group.status_code == 201 and group.headers["Location"].endswith(f"/2/groups/{group.json()}")


def test_contact_json_shape_and_date_format(v2: str, clock: Any) -> None:
    """Section 4.2: PascalCase fields in alphabetical order and /Date(ms+0000)/ dates."""
    ident = requests.post(f"{v2}/contacts", json={"PhoneNumber": "4790555817"}, auth=AUTH).json()
    response = requests.get(f"{v2}/contacts/{ident}", auth=AUTH)
    assert response.headers["Content-Type"].startswith("application/json")
    body = response.json()
    assert list(body) == sorted(body)
    assert body["CreatedDate"] == f"/Date({int(clock.now * 1000)}+0000)/"
    assert body["CPAAccepted"] is False and body["Email"] is None


def test_method_override_turns_post_into_put_and_delete(v2: str) -> None:
    """Section 3.3: POST with X-HTTP-Method-Override acts as PUT or DELETE."""
    ident = requests.post(f"{v2}/contacts", json={"PhoneNumber": "4790555817"}, auth=AUTH).json()
    put = requests.post(
        f"{v2}/contacts/{ident}",
        json={"PhoneNumber": "4790555818", "Firstname": "Bo"},
        headers={"X-HTTP-Method-Override": "PUT"},
        auth=AUTH,
    )
    assert put.status_code == 204
    assert requests.get(f"{v2}/contacts/{ident}", auth=AUTH).json()["Firstname"] == "Bo"
    delete = requests.post(f"{v2}/contacts/{ident}", headers={"X-HTTP-Method-Override": "DELETE"}, auth=AUTH)
    assert delete.status_code == 204
    assert requests.get(f"{v2}/contacts/{ident}", auth=AUTH).status_code == 404


def test_put_replaces_every_writable_field(v2: str) -> None:
    """Section 4.2 ASSUMPTION: PUT is a full replace; omitted fields become null/false."""
    full = {
        "PhoneNumber": "4790555817",
        "Firstname": "Ann",
        "Lastname": "Lie",
        "Email": "ann@example.com",
        "Description": "d1",
        "Description2": "d2",
        "Description3": "d3",
        "CPAAccepted": True,
        "IsPrivate": True,
    }
    ident = requests.post(f"{v2}/contacts", json=full, auth=AUTH).json()
    put = requests.put(
        f"{v2}/contacts/{ident}",
        json={"PhoneNumber": "4790555817", "Firstname": "Ann", "ContactId": 999},
        auth=AUTH,
    )
    assert (put.status_code, put.content) == (204, b"")
    body = requests.get(f"{v2}/contacts/{ident}", auth=AUTH).json()
    assert body["ContactId"] == ident
    assert body["Firstname"] == "Ann"
    assert [body[f] for f in ("Lastname", "Email", "Description", "Description2", "Description3")] == [
        None
    ] * 5
    assert body["CPAAccepted"] is False and body["IsPrivate"] is False


def test_invalid_phone_number_is_400_with_text_body(v2: str) -> None:
    """Section 4.2 ASSUMPTION: a missing or non-digit PhoneNumber is a 400 with a plain-text reason."""
    for body in (
        {"Firstname": "Ann"},
        {"PhoneNumber": ""},
        {"PhoneNumber": "47 905 55 817"},
        {"PhoneNumber": "12ab"},
    ):
        response = requests.post(f"{v2}/contacts", json=body, auth=AUTH)
        assert response.status_code == 400
        assert response.headers["Content-Type"].startswith("text/plain") and response.text
    assert requests.post(f"{v2}/contacts", json={"PhoneNumber": "+4790555817"}, auth=AUTH).status_code == 201
    assert requests.post(f"{v2}/contacts", data="{not json", auth=AUTH).status_code == 400


def test_form_encoded_create_is_accepted(v2: str) -> None:
    """Section 3 ASSUMPTION: form-encoded bodies with the same field names work too."""
    response = requests.post(
        f"{v2}/contacts", data={"PhoneNumber": "4790555817", "Firstname": "Ann"}, auth=AUTH
    )
    assert response.status_code == 201
    assert requests.get(f"{v2}/contacts/{response.json()}", auth=AUTH).json()["Firstname"] == "Ann"


def test_duplicate_group_name_is_400(v2: str) -> None:
    """Section 5.2 ASSUMPTION: a second group with an existing name is refused, on POST and PUT."""
    first = requests.post(f"{v2}/groups", json={"Name": "Staff"}, auth=AUTH).json()
    assert requests.post(f"{v2}/groups", json={"Name": "Staff"}, auth=AUTH).status_code == 400
    second = requests.post(f"{v2}/groups", json={"Name": "Customers"}, auth=AUTH).json()
    assert requests.put(f"{v2}/groups/{second}", json={"Name": "Staff"}, auth=AUTH).status_code == 400
    assert (
        requests.put(
            f"{v2}/groups/{first}", json={"Name": "Staff", "Description": "x"}, auth=AUTH
        ).status_code
        == 204
    )
    assert requests.post(f"{v2}/groups", json={"Description": "no name"}, auth=AUTH).status_code == 400


def test_membership_add_is_idempotent_and_removing_a_non_member_is_404(v2: str) -> None:
    """Section 5.2 ASSUMPTIONS: PUT twice is 204 twice; DELETE of a non-member or unknown id is 404."""
    gid = requests.post(f"{v2}/groups", json={"Name": "Staff"}, auth=AUTH).json()
    cid = requests.post(f"{v2}/contacts", json={"PhoneNumber": "4790555817"}, auth=AUTH).json()
    for _ in range(2):
        response = requests.put(f"{v2}/groups/{gid}/contacts/{cid}", auth=AUTH)
        assert (response.status_code, response.content) == (204, b"")
    members = requests.get(f"{v2}/groups/{gid}/contacts", auth=AUTH).json()
    assert [m["ContactId"] for m in members] == [cid]
    assert requests.delete(f"{v2}/groups/{gid}/contacts/{cid}", auth=AUTH).status_code == 204
    assert requests.delete(f"{v2}/groups/{gid}/contacts/{cid}", auth=AUTH).status_code == 404
    assert requests.put(f"{v2}/groups/{gid}/contacts/999", auth=AUTH).status_code == 404
    assert requests.put(f"{v2}/groups/999/contacts/{cid}", auth=AUTH).status_code == 404
    assert requests.get(f"{v2}/contacts/{cid}", auth=AUTH).status_code == 200


def test_deleting_group_keeps_contacts_and_deleting_contact_drops_membership(
    emulator: IntouchEmulator, v2: str
) -> None:
    """Section 4.2/5.2 ASSUMPTIONS: a group delete keeps contacts; a contact delete leaves its groups."""
    staff, other = emulator.add_group("Staff"), emulator.add_group("Other")
    ann, bo = emulator.add_contact("4790555817"), emulator.add_contact("4790555818")
    for gid, cid in ((staff, ann), (other, ann), (other, bo)):
        emulator.add_member(gid, cid)
    assert requests.delete(f"{v2}/groups/{staff}", auth=AUTH).status_code == 204
    assert len(emulator.contacts()) == 2
    assert requests.delete(f"{v2}/contacts/{ann}", auth=AUTH).status_code == 204
    assert emulator.members(other) == [bo]


def test_search_and_phone_lookup_and_count(emulator: IntouchEmulator, v2: str) -> None:
    """Section 4.1: search needs every term to match some field; phonenumber finds the lowest id; count."""
    ann = emulator.add_contact("4790555817", first_name="Ann", last_name="Lie", email="ann@acme.no")
    emulator.add_contact("4790555818", first_name="Ann", last_name="Berg")
    emulator.add_contact("4790555817", first_name="Duplicate")
    found = requests.get(f"{v2}/contacts/search/ann%20LIE", auth=AUTH).json()
    assert [c["ContactId"] for c in found] == [ann]
    assert len(requests.get(f"{v2}/contacts/search/ann", auth=AUTH).json()) == 2
    assert requests.get(f"{v2}/contacts/phonenumber/4790555817", auth=AUTH).json()["ContactId"] == ann
    assert requests.get(f"{v2}/contacts/phonenumber/4711111111", auth=AUTH).status_code == 404
    assert requests.get(f"{v2}/contacts/count", auth=AUTH).json() == 3
    gid = emulator.add_group("Staff")
    emulator.add_member(gid, ann)
    assert len(requests.get(f"{v2}/groups/{gid}/contacts/search/ann", auth=AUTH).json()) == 1


def test_user_resource(v2: str) -> None:
    """Section 8: the seeded user has every function and NUMBER_PREFIX 47, NUMBER_LENGTH 10."""
    user = requests.get(f"{v2}/user", auth=AUTH).json()
    assert {"ALLOW_API", "EDIT_CONTACT", "EDIT_GROUP", "SEND_SMS", "READ_SMS"} <= set(
        user["AllowedFunctions"]
    )
    settings = {s["Name"]: s["Value"] for s in user["Settings"]}
    assert (settings["NUMBER_PREFIX"], settings["NUMBER_LENGTH"]) == ("47", "10")
    assert set(user["Organization"]) >= {
        "Name",
        "Description1Alias",
        "Description2Alias",
        "Description3Alias",
    }


def test_throttle_answers_503_with_the_exact_text_per_credential(clock: Any, serve: Any) -> None:
    """Section 3.2: over rpm_limit the answer is 503 text/plain with the documented text, per user."""
    emulator = IntouchEmulator(rpm_limit=2, clock=clock)
    emulator.add_user("other", "example.com", "pw-other")
    url = f"{serve(emulator)}/2/groups"
    assert [requests.get(url, auth=AUTH).status_code for _ in range(2)] == [200, 200]
    throttled = requests.get(url, auth=AUTH)
    assert throttled.status_code == 503
    assert throttled.text == THROTTLE_TEXT
    assert throttled.headers["Content-Type"].startswith("text/plain")
    assert requests.get(url, auth=("other@example.com", "pw-other")).status_code == 200
    clock.now += 61
    assert requests.get(url, auth=AUTH).status_code == 200


def test_fault_injection_from_the_base(clock: Any, serve: Any) -> None:
    """Emulator faults: an error answers 500 with nothing committed; commit-then-error commits."""
    emulator = IntouchEmulator(
        clock=clock, faults="error:times=1:method=POST,commit-then-error:times=1:path=groups"
    )
    url = serve(emulator)
    first = requests.post(f"{url}/2/contacts", json={"PhoneNumber": "4790555817"}, auth=AUTH)
    assert first.status_code == 500 and emulator.contacts() == []
    group = requests.post(f"{url}/2/groups", json={"Name": "Staff"}, auth=AUTH)
    assert group.status_code == 500
    assert [g["Name"] for g in emulator.groups()] == ["Staff"]
    assert emulator.count("POST") == 2


def test_messages_scheduled_sent_and_folders(emulator: IntouchEmulator, v2: str, clock: Any) -> None:
    """Sections 6-7: a future HandledDate schedules; messages land in the Outbox folder; DELETE cancels."""
    later = int((clock.now + 3600) * 1000)
    sent = requests.post(f"{v2}/messages", json={"Text": "Hi", "Receivers": "4790555817"}, auth=AUTH).json()
    assert sent["MessageStatus"] == "Sent" and sent["SenderNumber"] == "Demo"
    scheduled = requests.post(
        f"{v2}/messages",
        json={"Text": "Later", "Receivers": "4790555817", "HandledDate": f"/Date({later}+0100)/"},
        auth=AUTH,
    ).json()
    assert scheduled["MessageStatus"] == "Scheduled"
    folders = {f["FolderType"]: f for f in requests.get(f"{v2}/folders", auth=AUTH).json()}
    assert folders["Outbox"]["MessagesInFolder"] == 2
    listed = requests.get(f"{v2}/folders/{folders['Outbox']['FolderId']}/messages", auth=AUTH).json()
    assert [m["Direction"] for m in listed] == ["O", "O"]
    assert listed[0]["ResourceURI"].endswith(f"/2/messages/{sent['MessageId']}")
    assert requests.delete(f"{v2}/messages/{scheduled['MessageId']}", auth=AUTH).status_code == 204
    assert requests.get(f"{v2}/messages/{scheduled['MessageId']}", auth=AUTH).status_code == 404
    emulator.add_inbound("Stop", "4790555817")
    inbox = requests.get(f"{v2}/folders/{folders['Inbox']['FolderId']}/messages", auth=AUTH).json()
    assert [(m["Direction"], m["Text"]) for m in inbox] == [("I", "Stop")]


def test_message_validation(v2: str) -> None:
    """Section 6 ASSUMPTIONS: empty text, unknown receivers and foreign senders are 400."""
    bad = (
        {"Text": "", "Receivers": "4790555817"},
        {"Text": "x", "Receivers": "/groups/42"},
        {"Text": "x", "Receivers": "abc"},
        {"Text": "x", "Receivers": "4790555817", "SenderNumber": "Other"},
        {"Text": "x", "Receivers": "4790555817", "HandledDate": "tomorrow"},
    )
    for body in bad:
        assert requests.post(f"{v2}/messages", json=body, auth=AUTH).status_code == 400
    assert requests.get(f"{v2}/messages", auth=AUTH).status_code == 405


def test_bulk_load_fills_the_store(emulator: IntouchEmulator, v2: str) -> None:
    """bulk_load puts 100,000 contacts in 1,000 groups, visible over HTTP (its speed: bench/plan_scale.py)."""
    phones = [str(4790000000 + i) for i in range(100_000)]
    groups = [f"Group {i}" for i in range(1000)]
    group_ids, contact_ids = emulator.bulk_load(
        groups, phones, ((groups[i % 1000], p) for i, p in enumerate(phones))
    )
    assert (len(group_ids), len(contact_ids)) == (1000, 100_000)
    assert requests.get(f"{v2}/contacts/count", auth=AUTH).json() == 100_000
    assert len(requests.get(f"{v2}/groups/{group_ids['Group 7']}/contacts", auth=AUTH).json()) == 100


@pytest.mark.parametrize("version", ["1", "2"])
def test_both_prefixes_serve_the_same_data(emulator: IntouchEmulator, server: Server, version: str) -> None:
    """Section 1: /1 and /2 mount the same handlers over the same data."""
    emulator.add_group("Staff")
    assert [g["Name"] for g in requests.get(f"{server.url}/{version}/groups", auth=AUTH).json()] == ["Staff"]
    assert requests.get(f"{server.url}/3/groups", auth=AUTH).status_code == 404


def test_sandbox_seed_is_idempotent_on_a_file(tmp_path: object) -> None:
    """The sandbox account is seeded once even when the same SQLite file is opened twice."""
    path = str(tmp_path) + "/intouch.db"  # type: ignore[operator]
    IntouchEmulator(path).db.close()
    again = IntouchEmulator(path)
    assert again.db.execute("SELECT COUNT(*) FROM users").fetchone()[0] == 1
    assert again.db.execute("SELECT COUNT(*) FROM folders").fetchone()[0] == 2
    again.db.close()


def test_tamper_helpers_find_contacts_by_id_or_number(emulator: IntouchEmulator) -> None:
    """rename_contact and update_contact take a ContactId or a stored PhoneNumber and keep other fields."""
    ann = emulator.add_contact("4790550001", first_name="Ann", last_name="Lie")
    emulator.rename_contact("4790550001", first_name="Renamed")
    emulator.update_contact(ann, Description="x")
    [stored] = emulator.contacts()
    assert (stored["Firstname"], stored["Lastname"], stored["Description"]) == ("Renamed", "Lie", "x")
    with pytest.raises(KeyError):
        emulator.rename_contact("4711111111", first_name="Nobody")


def test_contact_lists_reflect_every_change_though_their_json_is_kept(
    emulator: IntouchEmulator, v2: str, tmp_path: Any
) -> None:
    """The kept JSON of each contact (issue 11) never shows a stale contact: after an update, a
    delete or a change by another connection, the lists answer what encoding the rows now gives."""
    import json

    from reconciler.sandbox.intouch.wire import contact_json

    def expected(sql: str, *args: Any) -> bytes:
        rows = emulator.db.execute(sql, args).fetchall()
        return json.dumps([contact_json(r) for r in rows]).encode()

    ids = [
        requests.post(f"{v2}/contacts", json={"PhoneNumber": f"479055581{i}"}, auth=AUTH).json()
        for i in range(3)
    ]
    group = requests.post(f"{v2}/groups", json={"Name": "Staff"}, auth=AUTH).json()
    for ident in ids[:2]:
        assert requests.put(f"{v2}/groups/{group}/contacts/{ident}", auth=AUTH).status_code == 204
    everyone, members = "SELECT * FROM contacts ORDER BY id", (
        "SELECT c.* FROM contacts c JOIN members m ON m.contact_id = c.id WHERE m.group_id = ? ORDER BY c.id"
    )
    for _ in range(2):  # the second answer comes from the kept texts
        assert requests.get(f"{v2}/contacts", auth=AUTH).content == expected(everyone)
        assert requests.get(f"{v2}/groups/{group}/contacts", auth=AUTH).content == expected(members, group)
    body = {"PhoneNumber": "4790555810", "Firstname": "Renamed"}
    assert requests.put(f"{v2}/contacts/{ids[0]}", json=body, auth=AUTH).status_code in (200, 204)
    assert b"Renamed" in requests.get(f"{v2}/groups/{group}/contacts", auth=AUTH).content
    assert requests.delete(f"{v2}/contacts/{ids[1]}", auth=AUTH).status_code in (200, 204)
    assert requests.get(f"{v2}/contacts", auth=AUTH).content == expected(everyone)
    emulator.db.execute("UPDATE contacts SET firstname = 'Direct' WHERE id = ?", (ids[2],))
    assert requests.get(f"{v2}/contacts", auth=AUTH).content == expected(everyone)
    assert b"Direct" in requests.get(f"{v2}/contacts", auth=AUTH).content
