"""The SMSConnector provider against the emulator: read, apply, refine and check."""

from __future__ import annotations

import math
from datetime import UTC, datetime

import pytest

from reconciler.changes import Action, Change
from reconciler.errors import Problem, ProviderError
from reconciler.model import Origin, Resource, normalize_attrs
from reconciler.providers.smsconnector.capabilities import ADD_ENTRIES_LIMIT, INFO
from reconciler.providers.smsconnector.provider import SmsConnectorProvider

NOW = datetime(2026, 11, 22, 12, 0, tzinfo=UTC)


def numbers(count: int, start: int = 0) -> list[str]:
    """``count`` distinct E.164 UK drama-range numbers."""
    return [f"+4477009{n:05d}" for n in range(start, start + count)]


def desired(type_: str, **attrs) -> Resource:
    """A normalized desired item of the "uk" account, as the config loader builds it."""
    norm = normalize_attrs(type_, attrs, "GB", INFO.timezone)
    return Resource("uk", type_, norm["name"], norm, origin=Origin("uk.yaml", 3, 5))


def create(item: Resource) -> Change:
    return Change("uk", item.type, item.key, Action.CREATE, None, dict(item.attrs))


CAMPAIGN = {
    "name": "spring",
    "text": "Spring sale: 20% off",
    "sender": "82830",
    "brand": "Acme",
    "send_at": "2027-03-01T09:00:00+00:00",
    "to": {"phone_lists": ["VIP"]},
}


def test_read_lists_in_every_folder(emulator, client, provider):
    """read() returns every list (root and folders) with E.164 sorted numbers and the folder name."""
    root = client.create_list("VIP", 0)
    client.add_entries(root, ["447700900123", "07700 900001"], "seed")
    client.create_list("Leads", 1)
    live = provider.read(["phone_lists", "campaigns"], {})
    assert set(live) == {"phone_lists"}
    by_key = {item.key: item for item in live["phone_lists"]}
    assert by_key["VIP"].attrs == {"name": "VIP", "numbers": ["+447700900001", "+447700900123"]}
    assert by_key["VIP"].ident == str(root)
    assert by_key["Leads"].attrs == {"name": "Leads", "numbers": [], "folder": "Marketing"}


def test_duplicate_list_names_are_refused(client, provider):
    """Two live lists with one name make read() fail naming both ids."""
    client.create_list("Same", 0)
    client.create_list("Same", 1)
    with pytest.raises(ProviderError, match="two lists are named 'Same'"):
        provider.read(["phone_lists"], {})


def test_create_list_with_1000_numbers_batches(emulator, provider):
    """Creating a list of 1,000 numbers takes ceil(1000/limit) AddMultipleEntries calls."""
    item = desired("phone_lists", name="Big", numbers=numbers(1000), folder="Marketing")
    provider.read(["phone_lists"], {})
    [outcome] = provider.apply([create(item)])
    assert emulator.count("POST", "AddMultipleEntries") == math.ceil(1000 / ADD_ENTRIES_LIMIT)
    assert emulator.lists()[0] == {
        "ListID": int(outcome.ident),
        "ListName": "Big",
        "Folder": 1,
        "NumberCount": 1000,
    }
    [live] = provider.read(["phone_lists"], {})["phone_lists"]
    assert live.attrs == item.attrs


def test_adding_1000_numbers_to_a_list(emulator, client, provider):
    """An update sends only the new numbers, ceil(1000/limit) requests."""
    list_id = client.create_list("VIP", 0)
    client.add_entries(list_id, [n[1:] for n in numbers(3)], "seed")
    [live] = provider.read(["phone_lists"], {})["phone_lists"]
    want = sorted(numbers(1003))
    change = Change(
        "uk",
        "phone_lists",
        "VIP",
        Action.UPDATE,
        {"numbers": live.attrs["numbers"]},
        {"numbers": want},
        ("numbers",),
        ident=live.ident,
        desired={"name": "VIP", "numbers": want},
    )
    emulator.reset_counts()
    [outcome] = provider.apply([change])
    assert emulator.count("POST", "AddMultipleEntries") == math.ceil(1000 / ADD_ENTRIES_LIMIT)
    assert outcome.ident == live.ident and outcome.attrs == {"name": "VIP", "numbers": want}
    assert len(emulator.numbers(list_id)) == 1003


def test_campaign_create_links_and_launches(emulator, client, provider):
    """A campaign is created with its fields, linked to its lists and launched (status scheduled)."""
    list_id = client.create_list("VIP", 0)
    provider.read(["phone_lists"], {})
    item = desired("campaigns", **CAMPAIGN, folder="Marketing")
    [outcome] = provider.apply([create(item)])
    [campaign] = emulator.campaigns()
    assert outcome.ident == str(campaign["id"]) and outcome.attrs == dict(item.attrs)
    assert campaign | {"id": 0} == {
        "id": 0,
        "title": "spring",
        "text": "Spring sale: 20% off",
        "folder": 1,
        "brand": "Acme",
        "from_number": "82830",
        "launch_at": "2027-03-01T09:00:00+00:00",
        "lease": None,
        "armed": True,
        "sent": False,
        "lists": [list_id],
    }


def test_campaign_created_stopped_is_not_launched(emulator, client, provider):
    """status: stopped creates and links the campaign without launching it."""
    client.create_list("VIP", 0)
    provider.apply([create(desired("campaigns", **CAMPAIGN, status="stopped"))])
    assert emulator.campaigns()[0]["armed"] is False
    assert emulator.count("POST", "LaunchCampaign") == 0


def test_campaign_update_status_and_lists(emulator, client, provider):
    """Updates stop/launch the campaign and link/unlink the changed phone lists."""
    vip, leads = client.create_list("VIP", 0), client.create_list("Leads", 0)
    item = desired("campaigns", **CAMPAIGN)
    [outcome] = provider.apply([create(item)])
    stop = Change(
        "uk",
        "campaigns",
        "spring",
        Action.UPDATE,
        {"status": "scheduled", "to.phone_lists": ["VIP"]},
        {"status": "stopped", "to.phone_lists": ["Leads"]},
        ("status", "to.phone_lists"),
        ident=outcome.ident,
        desired={**item.attrs, "status": "stopped"},
    )
    [after] = provider.apply([stop])
    assert after.attrs["status"] == "stopped"
    [campaign] = emulator.campaigns()
    assert (campaign["armed"], campaign["lists"]) == (False, [leads])
    launch = Change(
        "uk",
        "campaigns",
        "spring",
        Action.UPDATE,
        {"status": "stopped"},
        {"status": "scheduled"},
        ("status",),
        ident=outcome.ident,
        desired=dict(item.attrs),
    )
    provider.apply([launch])
    assert emulator.campaigns()[0]["armed"] is True
    assert vip not in emulator.campaigns()[0]["lists"]


def test_campaign_replace_stops_old_and_creates_new(emulator, client, provider):
    """A replace stops the old campaign, creates a new one and warns that the old one stays."""
    client.create_list("VIP", 0)
    item = desired("campaigns", **CAMPAIGN)
    [old] = provider.apply([create(item)])
    new_attrs = {**item.attrs, "text": "Spring sale: 30% off"}
    change = Change(
        "uk", "campaigns", "spring", Action.REPLACE, dict(item.attrs), new_attrs, ("text",), ident=old.ident
    )
    [outcome] = provider.apply([change])
    first, second = emulator.campaigns()
    assert (first["armed"], second["armed"], second["text"]) == (False, True, "Spring sale: 30% off")
    assert outcome.ident == str(second["id"]) and outcome.attrs == new_attrs
    assert outcome.warnings == (f"the old campaign {old.ident} was stopped; SMSConnector cannot delete it",)


def test_campaign_delete_stops(emulator, client, provider):
    """Deleting a campaign stops it; a campaign the API no longer knows is only a warning."""
    client.create_list("VIP", 0)
    [old] = provider.apply([create(desired("campaigns", **CAMPAIGN))])
    [outcome] = provider.apply(
        [Change("uk", "campaigns", "spring", Action.DELETE, {}, None, ident=old.ident)]
    )
    assert outcome.ident is None and emulator.campaigns()[0]["armed"] is False
    [gone] = provider.apply([Change("uk", "campaigns", "other", Action.DELETE, {}, None, ident="999")])
    assert "no longer exists" in gone.warnings[0]


def test_failure_after_create_names_the_campaign_id(emulator, client, provider):
    """If launching fails after the create, the error names the created campaign id."""
    client.create_list("VIP", 0)
    item = desired("campaigns", **{**CAMPAIGN, "send_at": "2020-01-01T09:00:00Z"})
    with pytest.raises(ProviderError, match=r"created as id 1 but is not launched"):
        provider.apply([create(item)])


def test_phone_list_delete_is_refused(provider):
    """A phone list delete never reaches the API: the provider says it cannot."""
    with pytest.raises(ProviderError, match="cannot delete phone_lists"):
        provider.apply([Change("uk", "phone_lists", "VIP", Action.DELETE, {}, None, ident="1")])


def live_campaign(**attrs) -> Resource:
    norm = normalize_attrs("campaigns", {**CAMPAIGN, **attrs}, "GB")
    return Resource("uk", "campaigns", "spring", norm, ident="7")


def test_refine_sent_campaign_is_immutable():
    """An update or replace of a campaign past its send time (scheduled) becomes a warning."""
    live = live_campaign(send_at="2026-11-01T09:00:00Z")
    change = Change("uk", "campaigns", "spring", Action.REPLACE, dict(live.attrs), {}, ("text",), ident="7")
    refined = SmsConnectorProvider.refine(change, live, NOW)
    assert isinstance(refined, Problem) and refined.severity == "warning"
    assert "was sent" in refined.message
    stopped = live_campaign(send_at="2026-11-01T09:00:00Z", status="stopped")  # never armed: not sent
    edit = Change(
        "uk",
        "campaigns",
        "spring",
        Action.REPLACE,
        dict(stopped.attrs),
        {**stopped.attrs, "send_at": "2027-01-01T09:00:00Z"},
        ("send_at",),
        ident="7",
    )
    assert SmsConnectorProvider.refine(edit, stopped, NOW) is edit
    future = live_campaign()
    assert SmsConnectorProvider.refine(change, future, NOW) is change


def test_refine_delete_of_sent_campaign_keeps_the_change():
    """Removing a sent campaign stays a delete (dropped from state) with a reason."""
    live = live_campaign(send_at="2026-11-01T09:00:00Z")
    delete = Change("uk", "campaigns", "spring", Action.DELETE, {}, None, ident="7")
    refined = SmsConnectorProvider.refine(delete, live, NOW)
    assert isinstance(refined, Change) and "already sent" in refined.reason


def test_refine_create_in_the_past():
    """A scheduled campaign whose send_at has passed cannot be launched: a Problem stands instead."""
    item = desired("campaigns", **{**CAMPAIGN, "send_at": "2026-01-01T09:00:00Z"})
    refined = SmsConnectorProvider.refine(create(item), None, NOW)
    assert isinstance(refined, Problem) and "in the past" in refined.message
    future = SmsConnectorProvider.refine(create(desired("campaigns", **CAMPAIGN)), None, NOW)
    assert future.action is Action.CREATE


def test_check_invalid_sender_and_brand(provider):
    """A sender or brand the company lacks is an error naming the valid choices and the file."""
    item = desired("campaigns", **{**CAMPAIGN, "sender": "99999", "brand": "Other"})
    problems = provider.check({"campaigns": {item.key: item}}, {})
    assert [p.severity for p in problems] == ["error", "error"]
    assert "sender '99999' is not one of the company's headers: 82830, ACMELTD" in problems[0].message
    assert "brand 'Other' is not one of the company's brands: Acme" in problems[1].message
    assert str(problems[0]).startswith("uk.yaml:3:5: ")


def test_check_unknown_folder(provider):
    """A folder the user does not have is an error naming the existing folders."""
    item = desired("phone_lists", name="VIP", numbers=[], folder="Nope")
    [problem] = provider.check({"phone_lists": {item.key: item}}, {})
    assert "folder 'Nope' does not exist (folders: Marketing)" in problem.message


def test_opt_outs_name_the_last_stop(emulator, provider):
    """Numbers whose last STOP is after their last START are reported with the STOP's date."""
    emulator.add_stop("447700900123", "2026-10-01T10:00:00Z")
    emulator.add_stop("07700900124", "2026-10-01T10:00:00Z")
    emulator.add_reinstate("447700900124", "2026-10-02T10:00:00Z")
    emulator.add_stop("447700900124", "2026-10-03T10:00:00Z")
    emulator.add_stop("447700900125", "2026-10-01T10:00:00Z")
    emulator.add_reinstate("447700900125", "2026-10-02T10:00:00Z")
    assert provider.opt_outs({}) == {
        "+447700900123": "texted STOP on 2026-10-01 and not START since",
        "+447700900124": "texted STOP on 2026-10-03 and not START since",
    }
    assert provider.check({}, {}) == []


def test_opted_out_accepts_bare_strings(provider, monkeypatch):
    """Opt-out lists of bare strings are read too: a START anywhere wins over an undated STOP."""
    monkeypatch.setattr(provider.client, "stops", lambda: ["447700900123", "447700900124"])
    monkeypatch.setattr(provider.client, "reinstates", lambda: ["447700900124"])
    assert provider.opted_out() == {"+447700900123": ""}


def test_check_lost_state_warns(client, provider):
    """No campaign in state while its lists exist live is a warning about a lost state file."""
    client.create_list("VIP", 0)
    live = provider.read(["phone_lists"], {})
    campaign = desired("campaigns", **CAMPAIGN)
    [problem] = provider.check({"campaigns": {"spring": campaign}}, live, {})
    assert problem.severity == "warning" and "state file was lost" in problem.message
    recorded = {"campaigns": {"spring": {"id": "1", "attrs": {}}}}
    assert provider.check({"campaigns": {"spring": campaign}}, live, recorded) == []
