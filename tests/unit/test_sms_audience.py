"""Audience checks and send impact (reconciler.sms.audience), pure and table-driven, and how every
plan format shows the impact."""

from __future__ import annotations

import json
from decimal import Decimal
from pathlib import Path

import pytest
from jsonschema import Draft202012Validator

from reconciler.changes import Action, Change
from reconciler.model import Resource
from reconciler.pii import Masker
from reconciler.plan import Plan
from reconciler.providers.intime.capabilities import CAPABILITIES as INTIME
from reconciler.providers.intime.capabilities import SENDING as INTIME_SENDING
from reconciler.providers.smsconnector.capabilities import CAPABILITIES as SMSC
from reconciler.providers.smsconnector.capabilities import SENDING as SMSC_SENDING
from reconciler.render import render
from reconciler.sms import audience
from reconciler.sms.rules import Policy, Price

A, B, C, D = "+46701234561", "+46701234562", "+46701234563", "+46701234564"
TEXT = "Sale! Reply STOP to opt out."
SHOWN = "1,204 recipients (2 opted out, excluded), GSM-7, 2 segments each, 2,408 SMS, 108.36 SEK"
MASKER = Masker(b"k" * 32)
SCHEMA = json.loads((Path(__file__).resolve().parents[2] / "schemas" / "plan.schema.json").read_text())


def _item(type_: str, key: str, **attrs: object) -> Resource:
    return Resource("acct", type_, key, attrs)


def _intime(campaign: dict[str, object], blocked: tuple[str, ...] = ()) -> audience.Audit:
    desired = {
        "contacts": {
            A: _item("contacts", A, mobile=A, groups=["G"]),
            B: _item("contacts", B, mobile=B, groups=["G", "H"]),
        },
        "campaigns": {"c": _item("campaigns", "c", text=TEXT, **campaign)},
    }
    live = {"blocklist": {n: _item("blocklist", n, mobile=n) for n in blocked}}
    opted = audience.opt_outs(INTIME_SENDING, desired, live, {})
    return audience.audit(INTIME_SENDING, Policy(), INTIME, desired, live, opted, MASKER.number)


@pytest.mark.parametrize(
    ("to", "blocked", "exclude", "recipients", "excluded", "errors", "numbers_sent"),
    [
        ({"groups": ["G"]}, (), False, 2, 0, 0, None),
        ({"groups": ["G", "H"], "numbers": [A, C]}, (), False, 3, 0, 0, [A, C]),
        ({"groups": ["G"]}, (B,), False, 2, 0, 1, None),
        ({"groups": ["G"]}, (B,), True, 1, 1, 0, None),
        ({"numbers": [C, D]}, (C,), True, 1, 1, 0, [D]),
        ({"numbers": [C]}, (C,), True, 0, 1, 1, None),
        ({"groups": ["G"], "numbers": [B]}, (B,), True, 1, 1, 0, None),
        ({"groups": ["H"]}, (A,), False, 1, 0, 0, None),
    ],
    ids=[
        "group",
        "groups-and-numbers",
        "blocked-member",
        "member-excluded",
        "direct-excluded",
        "all-excluded",
        "member-and-direct",
        "blocked-elsewhere",
    ],
)
def test_intime_audience(to, blocked, exclude, recipients, excluded, errors, numbers_sent) -> None:
    """Recipients are expanded, opted-out ones fail the plan or are excluded and counted; excluded
    direct numbers leave the campaign the planner sees."""
    campaign: dict[str, object] = {"to": to, "exclude_opted_out": exclude, "marketing": True}
    found = _intime(campaign, blocked)
    impact = found.impacts["c"]
    assert (impact["recipients"], impact["excluded"], len(found.problems)) == (recipients, excluded, errors)
    sent = found.desired["c"].attrs
    assert "exclude_opted_out" not in sent and "marketing" not in sent
    assert sent["to"].get("numbers") == numbers_sent
    assert impact["exact"] is ("groups" not in to)  # InTime cannot list contacts


def test_opted_out_error_names_campaign_and_masked_numbers() -> None:
    """The error names the campaign, the numbers masked as in the reports (keyed tag) and why, and how
    to fix it."""
    [problem] = _intime({"to": {"groups": ["G"], "numbers": [C]}}, (B, C)).problems
    b, c = MASKER.tag("number", B), MASKER.tag("number", C)
    dots = "\u2022" * 5
    assert problem.message == (
        f"campaign 'c' would send to 2 recipients who opted out: +46 70{dots}62 {b} is on the blocklist, "
        f"+46 70{dots}63 {c} is on the blocklist (remove them from its recipients, or set "
        "exclude_opted_out: true to leave them out)"
    )
    assert MASKER.text(problem.message) == problem.message  # already masked: a masked report keeps it


def test_smsconnector_lists_stops_and_stopped_campaigns() -> None:
    """List numbers (declared and live, append-only) count; STOPs fail a scheduled campaign only."""
    desired = {
        "phone_lists": {"VIP": _item("phone_lists", "VIP", name="VIP", numbers=[A, B])},
        "campaigns": {"c": _item("campaigns", "c", text="a" * 161, to={"phone_lists": ["VIP"]})},
    }
    live = {"phone_lists": {"VIP": _item("phone_lists", "VIP", name="VIP", numbers=[A, C])}}
    reported = {B: "texted STOP"}
    policy = Policy(price=Price(Decimal("0.035"), "GBP"))
    found = audience.audit(SMSC_SENDING, policy, SMSC, desired, live, reported, MASKER.number)
    assert len(found.problems) == 1
    assert found.impacts["c"] == {
        "recipients": 3,
        "excluded": 0,
        "exact": True,
        "encoding": "GSM-7",
        "characters": 161,
        "segments": 2,
        "total_sms": 6,
        "cost": {"amount": 0.21, "currency": "GBP"},
    }
    stopped = dict(
        desired,
        campaigns={"c": _item("campaigns", "c", text="x", status="stopped", to={"phone_lists": ["VIP"]})},
    )
    assert audience.audit(SMSC_SENDING, policy, SMSC, stopped, live, reported, MASKER.number).problems == []


def _plan_with_impact() -> Plan:
    impact = {
        "recipients": 1204,
        "excluded": 2,
        "exact": True,
        "encoding": "GSM-7",
        "characters": 172,
        "segments": 2,
        "total_sms": 2408,
        "cost": {"amount": 108.36, "currency": "SEK"},
    }
    change = Change("se-main", "campaigns", "winter", Action.CREATE, None, {"name": "winter", "text": "Hi"})
    return audience.attach(Plan(changes=(change,)), {("se-main", "campaigns", "winter"): impact})


@pytest.mark.parametrize(
    ("fmt", "expected"),
    [
        ("text", f"# impact: {SHOWN}"),
        ("text", "Send impact:\n  se-main: 1 campaign, 2,408 SMS to 1,204 recipients, 108.36 SEK"),
        ("markdown", f"| se-main | winter | create | {SHOWN} |"),
        ("markdown", "- **se-main: 1 campaign, 2,408 SMS to 1,204 recipients, 108.36 SEK**"),
        ("html", "<h2>Send impact</h2>"),
        ("html", f"<td>{SHOWN}</td>"),
        ("json", '"total_sms": 2408'),
    ],
)
def test_every_format_shows_the_impact(fmt: str, expected: str) -> None:
    """Text, Markdown, HTML and JSON all carry the impact of a campaign change."""
    assert expected in render(_plan_with_impact(), fmt)


def test_json_impact_is_schema_valid_and_round_trips() -> None:
    """The plan JSON with an impact validates against the plan schema and survives from_json."""
    data = _plan_with_impact().to_json()
    Draft202012Validator(SCHEMA).validate(data)
    assert Plan.from_json(data).changes[0].impact == data["changes"][0]["impact"]
    data["changes"][0]["impact"]["encoding"] = "UTF-8"
    assert not Draft202012Validator(SCHEMA).is_valid(data)
