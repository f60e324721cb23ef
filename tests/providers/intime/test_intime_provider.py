"""The InTime provider against the emulator: read, apply round trips per type, batching."""

from __future__ import annotations

import pytest

from reconciler.changes import Action, Change
from reconciler.config.types import AccountConfig
from reconciler.errors import ProviderError, UnsupportedFeature
from reconciler.model import Resource, normalize_attrs, project
from reconciler.providers.base import Outcome, provider_class, provider_info
from reconciler.providers.contract import ApplyContext, IdMaps
from reconciler.providers.intime.provider import IntimeProvider

TZ = "Europe/Stockholm"


def norm(type_, attrs):
    return normalize_attrs(type_, attrs, "SE", TZ)


def change(type_, key, action, *, after=None, before=None, ident=None, fields=(), desired=None):
    return Change(
        "clinic",
        type_,
        key,
        action,
        before=before,
        after=after,
        fields=tuple(fields),
        ident=ident,
        desired=desired,
    )


def create(type_, attrs):
    attrs = norm(type_, attrs)
    key = attrs.get("name") or attrs.get("mobile") or attrs.get("email")
    return change(type_, key, Action.CREATE, after=attrs)


REMINDER = {
    "name": "anna-dentist-dec",
    "appointment": "2026-12-01T08:30:00",
    "organizer": {"title": "Dr", "first_name": "Hans", "last_name": "Evertsson"},
    "attendant": {"first_name": "Anna", "last_name": "Lind", "mobile": "070-987 65 43"},
    "active": True,
}
CAMPAIGN = {
    "name": "flu-shots",
    "text": "Välkommen på influensavaccination!",
    "sender": "Kliniken",
    "send_at": "2027-03-01T09:00:00+01:00",
    "to": {"groups": ["Patients"], "numbers": ["0701234999"]},
}


def test_registry_finds_the_provider():
    """provider_class('intime') is IntimeProvider and its info carries validate_item."""
    assert provider_class("intime") is IntimeProvider
    assert provider_info("intime").validate_item is not None


def test_missing_credentials_are_reported(base_url):
    """An account without hash cannot be used, and the error names the missing key."""
    with pytest.raises(ProviderError, match="missing credential.s. hash"):
        IntimeProvider(
            AccountConfig(name="clinic", provider="intime", url=base_url, credentials={"user": "demo"})
        )


def test_groups_round_trip(provider, emulator):
    """Created groups are read back keyed by name; deleted ones disappear."""
    outcomes = provider.apply([create("groups", {"name": "Staff"}), create("groups", {"name": "Åsa Öberg"})])
    live = provider.read(["groups"], {})["groups"]
    assert [(r.key, r.attrs, r.ident) for r in live] == [
        ("Staff", {"name": "Staff"}, outcomes[0].ident),
        ("Åsa Öberg", {"name": "Åsa Öberg"}, outcomes[1].ident),
    ]
    provider.apply(
        [change("groups", "Staff", Action.DELETE, before={"name": "Staff"}, ident=outcomes[0].ident)]
    )
    assert [g["name"] for g in emulator.groups()] == ["Åsa Öberg"]


def test_deleting_an_already_deleted_group_succeeds(provider, emulator):
    """A delete whose group is gone already (InTime's 2:ERROR1) is confirmed by listing and succeeds."""
    gid = emulator.add_group("Gone")
    provider.read(["groups"], {})
    emulator.db.execute("DELETE FROM groups WHERE id = ?", (gid,))
    assert provider.apply([change("groups", "Gone", Action.DELETE, ident=str(gid))]) == [Outcome(None)]


def test_duplicate_live_group_names_are_an_error(provider, emulator):
    """Two live groups with one name cannot be keyed: the error names both ids."""
    first, second = emulator.add_group("Staff"), emulator.add_group("Staff ")
    with pytest.raises(ProviderError, match=rf"'Staff' \(ids {first}, {second}\)"):
        provider.read(["groups"], {})


def test_fifty_contacts_reach_the_emulator_in_one_request(provider, emulator):
    """A batch of 50 new contacts is one contacts/add call; ids come back per contact, in order."""
    gid = emulator.add_group("Patients")
    provider.read(["groups"], {})
    changes = [
        create(
            "contacts",
            {
                "mobile": f"070-123 45 {i:02d}",
                "first_name": "Åsa",
                "last_name": "Öberg",
                "groups": ["Patients"],
            },
        )
        for i in range(50)
    ]
    emulator.reset_counts()
    ctx = ApplyContext("clinic", IdMaps({"groups": {"Patients": str(gid)}}))  # ids as the applier has them
    outcomes = provider.apply(changes, ctx)
    assert emulator.count("POST", "contacts/add.ashx") == 1 and emulator.count() == 1
    stored = emulator.contacts()
    assert [o.ident for o in outcomes] == [str(c["id"]) for c in stored]
    assert [c["mobile"] for c in stored] == [f"+467012345{i:02d}" for i in range(50)]
    assert all(c["groups"] == [gid] and c["type"] == 1 and c["firstname"] == "Åsa" for c in stored)
    assert outcomes[0].attrs == changes[0].after


def test_contact_types_and_extrafield(provider, emulator):
    """Type is 1/2/3 from mobile/e-mail and the description goes to extrafield."""
    provider.apply(
        [
            create("contacts", {"mobile": "0701234567", "email": "A@B.se", "description": "Reception"}),
            create("contacts", {"email": "only@mail.se"}),
        ]
    )
    both, mail = emulator.contacts()
    assert (both["type"], both["email"], both["extrafield"]) == (3, "a@b.se", "Reception")
    assert (mail["type"], mail["mobile"]) == (2, "")


def test_contact_with_unknown_group_fails_before_sending(provider, emulator):
    """A contact naming a group InTime does not have raises without calling contacts/add."""
    with pytest.raises(ProviderError, match="group 'Ghosts' does not exist"):
        provider.apply([create("contacts", {"mobile": "0701234567", "groups": ["Ghosts"]})])
    assert emulator.count("POST", "contacts/add.ashx") == 0


def test_contacts_cannot_be_updated_or_deleted(provider):
    """Changes the API cannot make are refused with the reason from the capabilities."""
    with pytest.raises(UnsupportedFeature, match="InTime's API can only create contacts"):
        provider.apply([change("contacts", "+46701234567", Action.DELETE, ident="1001")])


def test_blocklist_round_trip(provider, emulator):
    """Entries are read keyed by E.164 whatever form InTime stores; add and delete go by number."""
    emulator.add_nix("070-111 22 33")
    live = provider.read(["blocklist"], {})["blocklist"]
    assert [(r.key, r.attrs) for r in live] == [("+46701112233", {"mobile": "+46701112233"})]
    provider.apply([create("blocklist", {"mobile": "0701112244"})])
    provider.apply(
        [change("blocklist", r.key, Action.DELETE, before=dict(r.attrs), ident=r.ident) for r in live]
    )
    assert [n["mobile"] for n in emulator.nix()] == ["+46701112244"]
    # deleting a number that is no longer blocked is confirmed by a re-read and succeeds
    provider.apply([change("blocklist", "+46701112233", Action.DELETE, ident="070-111 22 33")])


def test_reminders_round_trip_and_state_keys(provider, emulator):
    """A created reminder reads back with its state key, the declared attrs and derived fields."""
    [outcome] = provider.apply([create("reminders", REMINDER)])
    state = {"reminders": {"anna-dentist-dec": {"id": outcome.ident, "attrs": outcome.attrs}}}
    [live] = provider.read(["reminders"], state)["reminders"]
    desired = norm("reminders", REMINDER)
    assert (live.key, live.ident) == ("anna-dentist-dec", outcome.ident)
    assert project(live.attrs, desired) == desired
    assert live.attrs["message_date"] == "2026-11-30T10:00:00"
    assert live.attrs["user_alias"] == "InTime Demo" and "Hej Anna!" in live.attrs["message_text"]
    [unkeyed] = provider.read(["reminders"], {})["reminders"]
    assert unkeyed.key == f"#{outcome.ident}" and "name" not in unkeyed.attrs


def test_reminder_update_sends_only_changed_elements(provider, emulator):
    """An update edits just the changed elements; the rest of the reminder is untouched."""
    [outcome] = provider.apply([create("reminders", REMINDER)])
    desired = norm("reminders", {**REMINDER, "attendant": {**REMINDER["attendant"], "last_name": "Berg"}})
    provider.apply(
        [
            change(
                "reminders",
                "anna-dentist-dec",
                Action.UPDATE,
                ident=outcome.ident,
                before={"attendant.last_name": "Lind"},
                after={"attendant.last_name": "Berg"},
                fields=["attendant.last_name"],
                desired=desired,
            )
        ]
    )
    body = emulator.last_request["body"].decode("iso-8859-1")
    assert "<attendant_lastname>Berg</attendant_lastname>" in body
    assert "attendant_firstname" not in body and "appointmentdate" not in body
    [stored] = emulator.reminders()
    assert (stored["attendant_firstname"], stored["attendant_lastname"]) == ("Anna", "Berg")


def test_reminder_update_of_inactive_reminder_is_reported(provider, emulator):
    """Editing an inactive reminder fails naming the reminder and the reason."""
    rid = emulator.add_reminder("2026-12-01T08:30:00", "0709876543", active=False)
    with pytest.raises(ProviderError, match=r"anna \(id \d+\): reminder is inactive \(InTime cannot edit"):
        provider.apply(
            [
                change(
                    "reminders",
                    "anna",
                    Action.UPDATE,
                    ident=str(rid),
                    fields=["appointment"],
                    after={"appointment": "2026-12-02T08:30:00"},
                )
            ]
        )


def test_reminder_delete_deactivates(provider, emulator):
    """A removed reminder is deactivated, never left active; deleting it again is harmless."""
    [outcome] = provider.apply([create("reminders", REMINDER)])
    delete = change("reminders", "anna-dentist-dec", Action.DELETE, ident=outcome.ident, before=outcome.attrs)
    assert provider.apply([delete])[0].ident is None
    assert emulator.reminders()[0]["active"] is False
    [again] = provider.apply([delete])
    assert again.warnings


def test_reminder_declared_inactive_is_created_inactive(provider, emulator):
    """A reminder declared with active: false is added and then deactivated."""
    provider.apply([create("reminders", {**REMINDER, "active": False})])
    assert emulator.reminders()[0]["active"] is False


def test_refine_turns_update_of_inactive_reminder_into_replace(provider, emulator):
    """An update of an inactive reminder becomes a replace that adds a new one; the old stays inactive."""
    old = emulator.add_reminder("2026-12-01T08:30:00", "0709876543", active=False)
    [live] = provider.read(["reminders"], {"reminders": {"anna-dentist-dec": {"id": str(old)}}})["reminders"]
    desired = norm("reminders", REMINDER)
    planned = change(
        "reminders",
        "anna-dentist-dec",
        Action.UPDATE,
        ident=str(old),
        fields=["active"],
        before={"active": False},
        after={"active": True},
        desired=desired,
    )
    refined = IntimeProvider.refine(planned, live, provider.clock())
    assert refined.action is Action.REPLACE
    assert refined.reason == "the reminder is inactive; InTime cannot edit it, so a new reminder is added"
    assert refined.after == desired and refined.ident == str(old)
    [outcome] = provider.apply([refined])
    first, second = emulator.reminders()
    assert (first["id"], first["active"]) == (old, False)
    assert (str(second["id"]), second["active"]) == (outcome.ident, True)


def test_refine_keeps_updates_of_active_reminders(provider, emulator):
    """An update of an active reminder stays an update."""
    rid = emulator.add_reminder("2026-12-01T08:30:00", "0709876543")
    [live] = provider.read(["reminders"], {})["reminders"]
    planned = change(
        "reminders",
        "x",
        Action.UPDATE,
        ident=str(rid),
        fields=["appointment"],
        after={"appointment": "2026-12-02T08:30:00"},
    )
    assert IntimeProvider.refine(planned, live, provider.clock()) is planned


def test_campaign_is_scheduled_in_stockholm_time(provider, emulator):
    """send_at (UTC) becomes Swedish local senddate; groups become ids; long text sets multisms."""
    gid = emulator.add_group("Patients")
    emulator.add_contact("0701234567", groups=[gid])
    summer = {**CAMPAIGN, "name": "summer", "send_at": "2027-06-01T08:00:00Z", "text": "x" * 200}
    outcomes = provider.apply([create("campaigns", CAMPAIGN), create("campaigns", summer)])
    winter, june = emulator.messages()
    assert (winter["senddate"], june["senddate"]) == ("2027-03-01T09:00:00", "2027-06-01T10:00:00")
    assert winter["groups"] == [gid] and [n for n, _ in winter["recipients"]] == ["+46701234999"]
    assert winter["body"] == "Välkommen på influensavaccination!" and winter["sendertitle"] == "Kliniken"
    assert (winter["multisms"], june["multisms"], winter["status"]) == (False, True, "scheduled")
    assert [o.ident for o in outcomes] == [str(winter["id"]), str(june["id"])]


def test_campaign_without_send_at_is_never_sent_by_accident(provider, emulator):
    """Without send_at a campaign is only sent when it says send_now: true."""
    attrs = {k: v for k, v in CAMPAIGN.items() if k != "send_at"} | {"to": {"numbers": ["0701234999"]}}
    with pytest.raises(ProviderError, match="never sends a campaign immediately"):
        provider.apply([create("campaigns", attrs)])
    assert emulator.count() == 0
    provider.apply([create("campaigns", {**attrs, "send_now": True})])
    assert emulator.messages()[0]["status"] == "sent" and emulator.messages()[0]["senddate"] is None


def test_campaign_replace_and_delete(provider, emulator):
    """Replace removes the scheduled message and creates a new one; delete removes it."""
    emulator.add_group("Patients")
    [first] = provider.apply([create("campaigns", CAMPAIGN)])
    new = norm("campaigns", {**CAMPAIGN, "text": "Ny tid"})
    [second] = provider.apply(
        [change("campaigns", "flu-shots", Action.REPLACE, ident=first.ident, before=first.attrs, after=new)]
    )
    assert second.ident != first.ident and second.attrs == new
    provider.apply([change("campaigns", "flu-shots", Action.DELETE, ident=second.ident, before=new)])
    assert [m["status"] for m in emulator.messages()] == ["deleted", "deleted"]


def test_sent_campaign_delete_warns_and_replace_refuses(provider, emulator, clock):
    """At apply time a sent message is not removed: delete drops the record, replace creates nothing."""
    emulator.add_group("Patients")
    [first] = provider.apply([create("campaigns", CAMPAIGN)])
    clock.advance(200 * 86400)  # past 2027-03-01
    replace = change(
        "campaigns", "flu-shots", Action.REPLACE, ident=first.ident, before=first.attrs, after=first.attrs
    )
    with pytest.raises(ProviderError, match="could not be removed .already sent.*no new message"):
        provider.apply([replace])
    deletes = emulator.count(path="message/delete")
    [outcome] = provider.apply(
        [change("campaigns", "flu-shots", Action.DELETE, ident=first.ident, before=first.attrs)]
    )
    assert "only the state record was dropped" in outcome.warnings[0]
    assert len(emulator.messages()) == 1
    assert emulator.count(path="message/delete") == deletes  # no request for a sent message


def test_refine_campaigns(provider, clock):
    """A campaign whose send_at passed cannot change (warning); a future one's update is a replace."""
    attrs = norm("campaigns", CAMPAIGN)
    live = Resource("clinic", "campaigns", "flu-shots", attrs, ident="900001")
    update = change(
        "campaigns",
        "flu-shots",
        Action.UPDATE,
        ident="900001",
        fields=["text"],
        before={"text": attrs["text"]},
        after={"text": "Ny tid"},
    )
    refined = IntimeProvider.refine(update, live, clock.datetime())
    assert refined.action is Action.REPLACE and refined.after["text"] == "Ny tid"
    assert "cannot edit a scheduled message" in refined.reason
    later = clock.datetime().replace(year=2027, month=4)
    for action in (Action.UPDATE, Action.REPLACE):
        problem = IntimeProvider.refine(change("campaigns", "flu-shots", action, ident="900001"), live, later)
        assert problem.severity == "warning"
        assert problem.message.startswith("campaign already sent at 2027-03-01T08:00:00Z; it cannot change")
    drop = IntimeProvider.refine(change("campaigns", "flu-shots", Action.DELETE, ident="900001"), live, later)
    assert drop.action is Action.DELETE and "only the state record is dropped" in drop.reason
    create_ = create("campaigns", CAMPAIGN)
    assert IntimeProvider.refine(create_, None, later) is create_
