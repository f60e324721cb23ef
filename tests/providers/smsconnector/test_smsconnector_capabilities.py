"""SMSConnector offline rules: capabilities and validate_item on campaigns."""

from __future__ import annotations

from reconciler.providers.base import provider_info
from reconciler.providers.smsconnector.capabilities import INFO, text_length, validate_item

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


def test_text_limits():
    """918 GSM-7 characters (extension characters count twice) or 402 UCS-2 characters."""
    assert text_length("a" * 918) == (918, 918)
    assert text_length("€" * 10) == (20, 918)
    assert text_length("ö✓") == (2, 402)
    assert validate_item("campaigns", {**GOOD, "text": "a" * 918}) == []
    [(path, message)] = validate_item("campaigns", {**GOOD, "text": "a" * 919})
    assert path == "text" and "919 characters" in message and "918" in message
    [(path, message)] = validate_item("campaigns", {**GOOD, "text": "✓" * 403})
    assert "402" in message and "UCS-2" in message


def test_required_fields_and_status():
    """text, sender and send_at are required; status is scheduled or stopped; targets are phone lists."""
    item = {"name": "x", "status": "paused", "to": {"numbers": ["+447700900001"]}}
    problems = dict(validate_item("campaigns", item))
    assert set(problems) == {"text", "sender", "send_at", "status", "to.numbers"}
    assert "scheduled, stopped" in problems["status"]
    [(path, _)] = validate_item("campaigns", {**GOOD, "to": {}})
    assert path == "to.phone_lists"
    assert validate_item("campaigns", {**GOOD, "to": {}, "status": "stopped"}) == []
