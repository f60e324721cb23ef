"""SMSConnector offline rules: capabilities and validate_item on campaigns."""

from __future__ import annotations

from reconciler.providers.base import provider_info
from reconciler.providers.smsconnector.capabilities import INFO, validate_item
from reconciler.sms.rules import Policy, check_message

GOOD = {
    "name": "spring",
    "text": "Hello",
    "sender": "82830",
    "send_at": "2027-03-01T09:00:00Z",
    "to": {"phone_lists": ["VIP"]},
}


def test_registered_info():
    """The registry returns this INFO, with validate_item and both credential forms optional."""
    assert provider_info("smsconnector") is INFO
    assert INFO.validate_item is validate_item
    assert set(INFO.optional_credentials) == {"password", "reusable_token"}


def test_valid_campaign_has_no_problems():
    """A complete campaign passes; phone lists are not checked offline."""
    assert validate_item("campaigns", GOOD) == []
    assert validate_item("phone_lists", {"name": "VIP", "numbers": []}) == []


def _text_findings(text: str) -> list[str]:
    attrs = {**GOOD, "text": text + " Reply STOP to opt out."}
    assert INFO.sending is not None
    return [f.message for f in check_message(attrs, INFO.sending, Policy(window=None)) if f.path == "text"]


def test_text_limits():
    """Six segments: 918 GSM-7 septets (extension characters count twice) or 402 UCS-2 units."""
    suffix = len(" Reply STOP to opt out.")
    assert _text_findings("a" * (918 - suffix)) == []
    [message] = _text_findings("a" * (919 - suffix))
    assert "7 segments as GSM-7 (919 septets)" in message and "limit of 6" in message
    assert _text_findings("€" * 10 + "a" * (898 - suffix)) == []
    [message] = _text_findings("a" * (917 - suffix) + "€")
    assert "7 segments as GSM-7 (919 septets)" in message
    assert _text_findings("✓" * (402 - suffix)) == []
    [message] = _text_findings("✓" * (403 - suffix))
    assert "7 segments as UCS-2 (403 UCS-2 units)" in message


def test_required_fields_and_status():
    """text, sender and send_at are required; status is scheduled or stopped; targets are phone lists."""
    item = {"name": "x", "status": "paused", "to": {"numbers": ["+447700900001"]}}
    problems = dict(validate_item("campaigns", item))
    assert set(problems) == {"text", "sender", "send_at", "status", "to.numbers"}
    assert "scheduled, stopped" in problems["status"]
    [(path, _)] = validate_item("campaigns", {**GOOD, "to": {}})
    assert path == "to.phone_lists"
    assert validate_item("campaigns", {**GOOD, "to": {}, "status": "stopped"}) == []
