"""The Intouch provider against the emulator: read, apply round-trips, numbers, duplicates."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import pytest

from reconciler.changes import Action, Change
from reconciler.config.types import AccountConfig
from reconciler.errors import ProviderError, Unauthorized
from reconciler.model import MEMBERSHIPS, normalize_attrs
from reconciler.providers.base import provider_class, provider_info
from reconciler.providers.intouch.capabilities import INFO
from reconciler.providers.intouch.provider import IntouchProvider, number_from_api, number_to_api
from reconciler.sandbox.intouch.emulator import IntouchEmulator

ACCOUNT = "no-main"


def _create(type_: str, key: str, attrs: dict[str, Any]) -> Change:
    return Change(ACCOUNT, type_, key, Action.CREATE, after=normalize_attrs(type_, attrs, "NO"))


def _by_key(provider: IntouchProvider, type_: str) -> dict[str, Any]:
    return {r.key: r for r in provider.read([type_], {})[type_]}


def test_registry_finds_the_provider() -> None:
    """The registry imports PROVIDER from provider.py and INFO from capabilities.py."""
    assert provider_class("intouch") is IntouchProvider
    assert provider_info("intouch") is INFO
    assert IntouchProvider.capabilities is INFO.capabilities and IntouchProvider.name == "intouch"


def test_group_create_then_read_round_trips(provider: IntouchProvider) -> None:
    """A group created by apply reads back with the same key, attributes and id."""
    [outcome] = provider.apply([_create("groups", "Staff", {"name": "Staff", "description": "All staff"})])
    staff = _by_key(provider, "groups")["Staff"]
    assert staff.attrs == {"name": "Staff", "description": "All staff"}
    assert staff.ident == outcome.ident and outcome.attrs == staff.attrs


def test_contact_create_then_read_round_trips(provider: IntouchProvider, emulator: IntouchEmulator) -> None:
    """A contact created by apply reads back with the same normalized attributes; stored as 47...."""
    desired = {
        "mobile": "+47 905 55 817",
        "first_name": "Ann",
        "last_name": "Lie",
        "email": "Ann@Acme.no",
        "description": "Oslo",
        "description2": "",
        "description3": None,
    }
    change = _create("contacts", "+4790555817", desired)
    [outcome] = provider.apply([change])
    assert emulator.contacts()[0]["PhoneNumber"] == "4790555817"
    live = _by_key(provider, "contacts")["+4790555817"]
    assert live.attrs == change.after
    assert live.ident == outcome.ident
    assert "groups" not in live.attrs


@pytest.mark.parametrize(
    "stored", ["90555817", "4790555817", "+47 905 55 817", "+4790555817", "004790555817"]
)
def test_number_formats_read_back_as_one_key(
    provider: IntouchProvider, emulator: IntouchEmulator, stored: str
) -> None:
    """National, with-country-code and formatted numbers all read back as +4790555817."""
    emulator.add_contact(stored, first_name="Ann")
    assert list(_by_key(provider, "contacts")) == ["+4790555817"]


def test_number_from_api_rules() -> None:
    """NUMBER_PREFIX is added below NUMBER_LENGTH; trunk-0 numbers use the region; to_api drops the +."""
    assert number_from_api("90555817", "NO", "47", 10) == "+4790555817"
    assert number_from_api("4790555817", "SE", "47", 10) == "+4790555817"
    assert number_from_api("46701234567", "NO", "47", 10) == "+46701234567"
    assert number_from_api("0701234567", "SE", "46", 11) == "+46701234567"
    assert number_from_api("905 55 817", "NO", "47", 10) == "+4790555817"
    assert number_from_api("90555817", "NO", "", 0) == "+4790555817"
    assert number_to_api("+4790555817") == "4790555817"


def test_update_changes_only_planned_fields_and_keeps_undeclared_ones(
    provider: IntouchProvider, emulator: IntouchEmulator
) -> None:
    """An update PUTs the whole contact: changed fields from the plan, everything else as live."""
    cid = emulator.add_contact(
        "90555817",
        first_name="Ann",
        last_name="Lie",
        email="ann@acme.no",
        description2="keep me",
        cpa=True,
        private=True,
    )
    live = _by_key(provider, "contacts")["+4790555817"]
    change = Change(
        ACCOUNT,
        "contacts",
        live.key,
        Action.UPDATE,
        before={"first_name": "Ann"},
        after={"first_name": "Anna"},
        fields=("first_name",),
        ident=live.ident,
        desired={"mobile": live.key, "first_name": "Anna"},
    )
    emulator.reset_counts()
    [outcome] = provider.apply([change])
    assert emulator.count("GET") == 0  # the refresh returned the whole contact
    assert outcome.ident == str(cid) and outcome.attrs == {"mobile": live.key, "first_name": "Anna"}
    [stored] = emulator.contacts()
    assert stored["Firstname"] == "Anna"
    assert (stored["Lastname"], stored["Email"], stored["Description2"]) == ("Lie", "ann@acme.no", "keep me")
    assert stored["CPAAccepted"] is True and stored["IsPrivate"] is True
    assert stored["PhoneNumber"] == "90555817"


def test_group_update_keeps_name_and_privacy(provider: IntouchProvider, emulator: IntouchEmulator) -> None:
    """A group update changes the description and keeps Name and IsPrivate from the live group."""
    gid = emulator.add_group("Staff", description="old", private=True)
    change = Change(
        ACCOUNT,
        "groups",
        "Staff",
        Action.UPDATE,
        before={"description": "old"},
        after={"description": "new"},
        fields=("description",),
        ident=str(gid),
    )
    provider.apply([change])
    assert emulator.groups() == [{"Description": "new", "GroupId": gid, "IsPrivate": True, "Name": "Staff"}]


def test_membership_add_and_remove(provider: IntouchProvider, emulator: IntouchEmulator) -> None:
    """Memberships read one per (group, member); create and delete use the ids from read."""
    staff = emulator.add_group("Staff")
    emulator.add_group("Empty")
    ann = emulator.add_contact("4790555817")
    emulator.reset_counts()
    assert provider.read([MEMBERSHIPS], {}) == {MEMBERSHIPS: []}
    assert emulator.count("GET", "/contacts") == 3  # all contacts, then one member list per group
    attrs = {"group": "Staff", "contact": "+4790555817"}
    [added] = provider.apply([Change(ACCOUNT, MEMBERSHIPS, "Staff|+4790555817", Action.CREATE, after=attrs)])
    assert added.ident == f"{staff}:{ann}" and emulator.members(staff) == [ann]
    [live] = provider.read([MEMBERSHIPS], {})[MEMBERSHIPS]
    assert (live.key, live.attrs, live.ident) == ("Staff|+4790555817", attrs, added.ident)
    [removed] = provider.apply(
        [Change(ACCOUNT, MEMBERSHIPS, live.key, Action.DELETE, before=attrs, ident=live.ident)]
    )
    assert removed.ident is None and not removed.warnings and emulator.members(staff) == []


def test_memberships_come_in_the_contact_lists_order(
    provider: IntouchProvider, emulator: IntouchEmulator
) -> None:
    """The planner pairs memberships fastest in their contacts' order (reconciler.pairing), so
    they are read in the contact list's order, each contact's in the order of the groups, not
    group by group as the member lists give them."""
    staff, board = emulator.add_group("Staff"), emulator.add_group("Board")
    numbers = ["4790555817", "4790555818", "4790555819"]
    ann, bo, cy = (emulator.add_contact(number) for number in numbers)
    for group, contact in [(staff, cy), (staff, ann), (board, bo), (board, ann)]:
        emulator.add_member(group, contact)
    read = provider.read(["contacts", MEMBERSHIPS], {})
    assert [c.key for c in read["contacts"]] == [f"+{n}" for n in numbers]
    assert [(m.key, m.ident) for m in read[MEMBERSHIPS]] == [
        ("Staff|+4790555817", f"{staff}:{ann}"),
        ("Board|+4790555817", f"{board}:{ann}"),
        ("Board|+4790555818", f"{board}:{bo}"),
        ("Staff|+4790555819", f"{staff}:{cy}"),
    ]


@pytest.mark.parametrize("gone", [False, True])
def test_a_member_the_contact_list_lacks_is_read_alone(
    provider: IntouchProvider, emulator: IntouchEmulator, monkeypatch: pytest.MonkeyPatch, gone: bool
) -> None:
    """The contact list and the member lists are read concurrently: a contact created between the
    two reads is a member the list lacks. It is read alone; one deleted meanwhile is no member."""
    staff = emulator.add_group("Staff")
    ann = emulator.add_contact("4790555817")
    bo = emulator.add_contact("4790555818")
    emulator.add_member(staff, ann)
    emulator.add_member(staff, bo)
    listed, read_one = provider.client.contacts, provider.client.contact

    def without_bo() -> list[dict[str, Any]]:  # as if bo was created after the contact list
        return [c for c in listed() if c["ContactId"] != bo]

    def deleted_first(cid: int) -> dict[str, Any]:  # and, if gone, deleted before it is read alone
        if gone:
            emulator.db.execute("DELETE FROM contacts WHERE id = ?", (cid,))
            emulator.db.commit()
        return read_one(cid)

    monkeypatch.setattr(provider.client, "contacts", without_bo)
    monkeypatch.setattr(provider.client, "contact", deleted_first)
    emulator.reset_counts()
    read = provider.read(["contacts", MEMBERSHIPS], {})
    assert [c.key for c in read["contacts"]] == ["+4790555817"]
    expected = ["Staff|+4790555817"] if gone else ["Staff|+4790555817", "Staff|+4790555818"]
    assert sorted(m.key for m in read[MEMBERSHIPS]) == expected
    assert emulator.count("GET", f"/contacts/{bo}") == 1


def test_created_group_and_contact_can_get_members_in_the_same_run(
    provider: IntouchProvider, emulator: IntouchEmulator
) -> None:
    """Ids of groups and contacts created in this run are used for their memberships."""
    provider.read(["groups", "contacts", MEMBERSHIPS], {})
    [group] = provider.apply([_create("groups", "New", {"name": "New"})])
    [contact] = provider.apply([_create("contacts", "+4790555817", {"mobile": "90555817"})])
    provider.apply(
        [
            Change(
                ACCOUNT,
                MEMBERSHIPS,
                "New|+4790555817",
                Action.CREATE,
                after={"group": "New", "contact": "+4790555817"},
            )
        ]
    )
    assert emulator.members(int(group.ident or 0)) == [int(contact.ident or 0)]


def test_membership_of_an_unknown_group_names_it(provider: IntouchProvider) -> None:
    """A membership whose group was neither read nor created fails with a message naming it."""
    provider.read([MEMBERSHIPS], {})
    change = Change(
        ACCOUNT,
        MEMBERSHIPS,
        "Ghost|+4790555817",
        Action.CREATE,
        after={"group": "Ghost", "contact": "+4790555817"},
    )
    with pytest.raises(
        ProviderError, match="intouch: create member \\+4790555817 of group 'Ghost': group 'Ghost'"
    ):
        provider.apply([change])


def test_deletes_and_already_gone_items(provider: IntouchProvider, emulator: IntouchEmulator) -> None:
    """Deletes remove the item; deleting one that is already gone succeeds with a warning."""
    gid, cid = emulator.add_group("Staff"), emulator.add_contact("4790555817")
    provider.read(["groups", "contacts"], {})
    group = Change(ACCOUNT, "groups", "Staff", Action.DELETE, before={"name": "Staff"}, ident=str(gid))
    contact = Change(
        ACCOUNT, "contacts", "+4790555817", Action.DELETE, before={"mobile": "+4790555817"}, ident=str(cid)
    )
    assert [o.warnings for o in provider.apply([group]) + provider.apply([contact])] == [(), ()]
    assert emulator.groups() == [] and emulator.contacts() == []
    [again] = provider.apply([contact])
    assert again.warnings == ("no-main/contacts/+4790555817 was already gone",)


def test_replace_deletes_then_creates(provider: IntouchProvider, emulator: IntouchEmulator) -> None:
    """A replace (not planned today, but handled) deletes the old item and returns the new id."""
    gid = emulator.add_group("Staff")
    provider.read(["groups"], {})
    change = Change(
        ACCOUNT,
        "groups",
        "Staff",
        Action.REPLACE,
        before={"name": "Staff"},
        after={"name": "Staff", "description": "again"},
        ident=str(gid),
    )
    [outcome] = provider.apply([change])
    assert outcome.ident != str(gid)
    assert [g["GroupId"] for g in emulator.groups()] == [int(outcome.ident or 0)]


def test_live_duplicates_stop_the_read(provider: IntouchProvider, emulator: IntouchEmulator) -> None:
    """Two contacts with one normalized number, or two groups with one name, are named with both ids."""
    first, second = emulator.add_contact("90555817"), emulator.add_contact("+47 905 55 817")
    with pytest.raises(ProviderError, match=f"ids {first} and {second}.*merge them in the Intouch web UI"):
        provider.read(["contacts"], {})
    a, b = emulator.add_group("Staff"), emulator.add_group("Staff")
    with pytest.raises(ProviderError, match=f"two live groups named 'Staff' \\(ids {a} and {b}\\)"):
        provider.read(["groups"], {})


def test_user_is_read_once_per_run(provider: IntouchProvider, emulator: IntouchEmulator) -> None:
    """GET /user (for NUMBER_PREFIX/NUMBER_LENGTH) happens once however often contacts are read."""
    emulator.add_contact("90555817")
    provider.read(["contacts"], {})
    provider.read(["contacts", MEMBERSHIPS], {})
    assert emulator.count("GET", "/2/user") == 1


def test_read_returns_only_the_types_asked(provider: IntouchProvider, emulator: IntouchEmulator) -> None:
    """Asking for memberships reads groups and contacts too but returns only memberships."""
    emulator.add_group("Staff")
    assert set(provider.read([MEMBERSHIPS], {})) == {MEMBERSHIPS}
    assert set(provider.read(["groups"], {})) == {"groups"}
    assert emulator.count("GET", "/2/contacts") == 1


def test_unreadable_live_number_is_kept_as_written(
    provider: IntouchProvider, emulator: IntouchEmulator
) -> None:
    """A stored number that is no phone number is compared as written instead of failing the read."""
    emulator.add_contact("12", first_name="Odd")
    [odd] = provider.read(["contacts"], {})["contacts"]
    assert (odd.key, odd.attrs["mobile"], odd.attrs["first_name"]) == ("12", "12", "Odd")


def test_wrong_password_is_unauthorized_without_secret(account: AccountConfig) -> None:
    """A refused login fails the read with advice and without the password."""
    bad = replace(account, credentials={**account.credentials, "password": "not-the-password-123"})
    provider = IntouchProvider(bad)
    with pytest.raises(Unauthorized) as caught:
        provider.read(["groups"], {})
    assert "not-the-password-123" not in str(caught.value) and "API feature" in str(caught.value)
    provider.close()


def test_missing_credentials_are_named(account: AccountConfig) -> None:
    """An account without a password fails with the missing key named, before any request."""
    with pytest.raises(ProviderError, match="lacks credentials password"):
        IntouchProvider(replace(account, credentials={"username": "demo", "domain": "example.com"}))


def test_check_warns_about_missing_permissions(account: AccountConfig, emulator: IntouchEmulator) -> None:
    """check() warns when the Intouch user may not edit a declared type."""
    emulator.add_user("viewer", "example.com", "viewer-password", functions=("ALLOW_API", "EDIT_GROUP"))
    provider = IntouchProvider(
        replace(
            account,
            credentials={"username": "viewer", "domain": "example.com", "password": "viewer-password"},
        )
    )
    problems = provider.check({"contacts": {"+4790555817": object()}, "groups": {}}, {})  # type: ignore[dict-item]
    assert [(p.severity, "EDIT_CONTACT" in p.message) for p in problems] == [("warning", True)]
    provider.close()


def test_validate_item_requires_a_mobile() -> None:
    """Email-only contacts are a validation error on Intouch; other items pass."""
    assert INFO.validate_item is not None
    assert INFO.validate_item("contacts", {"email": "a@b.no"}) == [
        ("mobile", "Intouch contacts need a mobile number (add mobile: ...)")
    ]
    assert INFO.validate_item("contacts", {"mobile": "+4790555817"}) == []
    assert INFO.validate_item("groups", {"name": "Staff"}) == []
