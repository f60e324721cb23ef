"""InTime's offline item rules (validate_item, and its declared Sending data read by the generic
message checks): charset, sender, lengths, dates, audience."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from reconciler.model import normalize_attrs
from reconciler.providers.intime.capabilities import INFO, validate_item
from reconciler.sms.rules import Policy, check_message

NOW = datetime(2026, 11, 22, 10, 0, tzinfo=UTC)
CAMPAIGN = {
    "name": "flu",
    "text": "Välkommen! Svara STOPP för att avregistrera dig.",
    "sender": "Kliniken",
    "send_at": "2027-03-01T09:00:00",
    "to": {"groups": ["Patients"]},
}


def problems(type_, attrs):
    normal = normalize_attrs(type_, attrs, "SE", INFO.timezone)
    found = validate_item(type_, normal, NOW)
    if type_ == "campaigns":
        assert INFO.sending is not None
        policy = Policy(window=None)
        found += [
            (f.path, f.message) for f in check_message(normal, INFO.sending, policy) if f.severity == "error"
        ]
    return found


def test_valid_campaign_and_reminder_pass():
    """A well-formed campaign and reminder have no problems; Swedish letters are fine."""
    assert problems("campaigns", CAMPAIGN) == []
    assert (
        problems(
            "reminders",
            {
                "name": "r",
                "appointment": "2026-12-01T08:30:00",
                "attendant": {"first_name": "Åsa", "mobile": "0709876543"},
            },
        )
        == []
    )


def test_emoji_is_an_error_naming_the_character():
    """Text outside ISO-8859-1 is an error at its attribute path, naming the character."""
    [(path, message)] = problems("campaigns", {**CAMPAIGN, "text": "Hej 😀"})
    assert path == "text" and "'😀' (U+1F600)" in message and "ISO-8859-1" in message
    [(path, _)] = problems("contacts", {"mobile": "0701234567", "first_name": "Zoë ✓"})
    assert path == "first_name"
    [(path, _)] = problems(
        "reminders",
        {"appointment": "2026-12-01T08:30:00", "attendant": {"mobile": "0709876543", "last_name": "Łukasz"}},
    )
    assert path == "attendant.last_name"


@pytest.mark.parametrize(
    ("sender", "ok"),
    [
        ("Kliniken", True),
        ("Tandläkaren", False),
        ("Tandlakarna1", False),
        ("46701234567", True),
        ("1234567890123456", False),
        ("A_B", False),
    ],
)
def test_sender_title_rules(sender, ok):
    """Sender titles follow InTime's rules: 11 English alphanumerics or 15 digits."""
    found = [p for p, _ in problems("campaigns", {**CAMPAIGN, "sender": sender}) if p == "sender"]
    assert found == ([] if ok else ["sender"])


@pytest.mark.parametrize(
    ("extra", "length", "ok"),
    [
        ({}, 160, True),
        ({}, 161, True),
        ({}, 804, True),
        ({}, 805, False),
        ({"multisms": False}, 161, False),
        ({"flash": True}, 160, True),
        ({"flash": True, "multisms": True}, 161, False),
    ],
)
def test_body_limits(extra, length, ok):
    """Texts: 804 characters (multi-SMS is used above 160), 160 for flash or multisms: false."""
    text = "x" * length
    found = [m for p, m in problems("campaigns", {**CAMPAIGN, **extra, "text": text}) if p == "text"]
    assert (found == []) is ok


def test_send_time_rules():
    """A past send_at, no send_at without send_now, or both are errors."""
    assert [p for p, _ in problems("campaigns", {**CAMPAIGN, "send_at": "2026-11-01T09:00:00"})] == [
        "send_at"
    ]
    no_time = {k: v for k, v in CAMPAIGN.items() if k != "send_at"}
    [(path, message)] = problems("campaigns", no_time)
    assert path == "send_at" and "send_now: true" in message
    assert problems("campaigns", {**no_time, "send_now": True}) == []
    assert [p for p, _ in problems("campaigns", {**CAMPAIGN, "send_now": True})] == ["send_now"]


def test_recipients_are_required_and_phone_lists_unknown():
    """A campaign needs numbers or groups; InTime has no phone lists."""
    assert [p for p, _ in problems("campaigns", {**CAMPAIGN, "to": {}})] == ["to"]
    found = [p for p, _ in problems("campaigns", {**CAMPAIGN, "to": {"phone_lists": ["VIP"]}})]
    assert found == ["to.phone_lists", "to"]


def test_reminder_rules():
    """Reminders need an appointment to the minute and an attendant mobile."""
    found = [p for p, _ in problems("reminders", {"appointment": "2026-12-01T08:30:15", "attendant": {}})]
    assert found == ["appointment", "attendant.mobile"]
