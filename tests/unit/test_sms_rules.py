"""Message rules: senders, sending windows, opt-out wording, and the character forcing UCS-2 located
in the file."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest

from reconciler.config.load import load_config
from reconciler.sms.rules import (
    Policy,
    SenderRule,
    Sending,
    TextLimit,
    Window,
    check_message,
    parse_window,
    region_zone,
)

NOW = datetime(2026, 11, 22, 12, 0, tzinfo=UTC)
ENV = {"INTIME_HASH": "0123456789abcdef0123456789abcdef01234567"}
STOP = " Reply STOP to opt out."


@pytest.mark.parametrize(
    ("sender", "ok"),
    [
        ("Shop", True),
        ("ACME Shop.1", True),
        ("ACME Shop Lt", False),
        ("Shop_1", False),
        ("Bäckerei", False),
        ("123456789012345", True),
        ("+123456789012345", True),
        ("1234567890123456", False),
    ],
)
def test_sender_rule(sender: str, ok: bool) -> None:
    """Alphanumeric senders have at most 11 characters of the allowed set; numeric ones 15 digits."""
    assert (SenderRule().problem(sender) is None) is ok


@pytest.mark.parametrize(
    ("window", "minute", "allowed"),
    [
        ("08:00-21:00", 8 * 60, True),
        ("08:00-21:00", 8 * 60 - 1, False),
        ("08:00-21:00", 21 * 60 - 1, True),
        ("08:00-21:00", 21 * 60, False),
        ("22:00-06:00", 23 * 60, True),
        ("22:00-06:00", 5 * 60 + 59, True),
        ("22:00-06:00", 12 * 60, False),
        ("00:00-24:00", 23 * 60 + 59, True),
    ],
)
def test_window(window: str, minute: int, allowed: bool) -> None:
    """A window includes its start and excludes its end; a start after the end wraps past midnight."""
    assert parse_window(window).allows(minute) is allowed


@pytest.mark.parametrize("text", ["8-21", "08:00-08:00", "25:00-26:00", "08:00 - 21:00"])
def test_bad_windows_are_refused(text: str) -> None:
    """Malformed or empty windows are errors saying how to write one."""
    with pytest.raises(ValueError, match="HH:MM|empty|after 24"):
        parse_window(text)


def test_region_zones() -> None:
    """A region with one clock has a default zone; one with several has none."""
    assert region_zone("se") == "Europe/Stockholm"
    assert region_zone("US") is None


ANY_HOUR = Policy(window=None)


def _messages(attrs: dict[str, object], policy: Policy = ANY_HOUR) -> list[tuple[str, str]]:
    sending = Sending(limit=lambda _: TextLimit(max_characters=20, what="a test"))
    return [(f.severity, f.message) for f in check_message(attrs, sending, policy)]


def test_opt_out_wording() -> None:
    """A marketing text without opt-out words is a warning; STOP or marketing: false silence it."""
    [(severity, message)] = _messages({"text": "Sale now"})
    assert severity == "warning" and "how to opt out" in message
    assert _messages({"text": "Sale. STOP=end"}) == []
    assert _messages({"text": "Svara STOPP"}) == []
    assert _messages({"text": "Your code", "marketing": False}) == []


def test_character_limit_and_window() -> None:
    """An over-long text and a send time outside the window (local time of the account) are errors."""
    found = _messages({"text": "a" * 21 + STOP, "marketing": False})
    assert found == [("error", "the text has 44 characters, over the limit of 20 for a test (shorten it)")]
    policy = Policy(Window(8 * 60, 21 * 60), "Europe/Stockholm")
    late = {"text": "x", "marketing": False, "send_at": "2026-12-05T20:30:00Z"}
    [(severity, message)] = _messages(late, policy)
    assert (
        severity == "error" and "2026-12-05 21:30 in Europe/Stockholm" in message and "08:00-21:00" in message
    )
    assert _messages({**late, "send_at": "2026-12-05T19:59:00Z"}, policy) == []
    [(_, message)] = _messages(late, Policy(Window(), None))
    assert "set timezone:" in message


def _repo(tmp_path: Path, text_line: str, account_extra: str = "") -> Path:
    (tmp_path / "reconciler.yaml").write_text(
        "version: 1\naccounts:\n  se:\n    provider: intime\n"
        f'    credentials: {{user: demo, hash: "${{INTIME_HASH}}"}}\n{account_extra}',
        encoding="utf-8",
    )
    (tmp_path / "c.yaml").write_text(
        "account: se\ncampaigns:\n  - name: sale\n    sender: Shop\n"
        f"{text_line}\n    send_at: 2027-01-05T10:00:00\n    to: {{numbers: ['+46701234567']}}\n",
        encoding="utf-8",
    )
    return tmp_path


def test_ucs2_character_is_located_in_the_file(tmp_path: Path) -> None:
    """The Latin-1 letter doubling the segments is reported at its own line and column in the file."""
    text = "a" * 60 + " fête" + STOP
    config = load_config(_repo(tmp_path, f'    text: "{text}"'), ENV, now=NOW)
    [warning] = [str(w) for w in config.warnings]
    column = 11 + 1 + text.index("ê")
    assert warning.startswith(f"{tmp_path}/c.yaml:5:{column}: campaigns[0].text: 'ê' (U+00EA LATIN SMALL")
    assert f"at column {text.index('ê') + 1} of the text" in warning
    assert "2 segments per recipient instead of 1 (write 'e' instead)" in warning


def test_ucs2_character_in_a_block_scalar(tmp_path: Path) -> None:
    """In a literal block the character is found on its own line of the file."""
    block = "    text: |\n      Hello" + STOP + "\n      " + "b" * 50 + "âok"
    config = load_config(_repo(tmp_path, block), ENV, now=NOW)
    [warning] = [str(w) for w in config.warnings]
    where = f"{tmp_path}/c.yaml:7:57: campaigns[0].text: 'â' (U+00E2 LATIN SMALL LETTER A WITH CIRCUMFLEX)"
    assert warning.startswith(f"{where} at line 2, column 51")


def test_escaped_character_falls_back_to_the_value(tmp_path: Path) -> None:
    """A character written as an escape cannot be located exactly: the text's own position is used."""
    text = "a" * 70 + "\\u00e2" + STOP
    config = load_config(_repo(tmp_path, f'    text: "{text}"'), ENV, now=NOW)
    [warning] = [str(w) for w in config.warnings]
    assert warning.startswith(f"{tmp_path}/c.yaml:5:11: campaigns[0].text: 'â'")


def test_default_quiet_hours_apply_in_the_region_zone(tmp_path: Path) -> None:
    """Without quiet_hours the window is 08:00-21:00 in the region's zone; quiet_hours: false lifts it."""
    repo = _repo(tmp_path, "    text: Hej" + STOP)
    (repo / "c.yaml").write_text((repo / "c.yaml").read_text().replace("T10:00", "T07:30"))
    with pytest.raises(
        Exception, match="07:30 in Europe/Stockholm, outside the account's sending window 08:00-21:00"
    ):
        load_config(repo, ENV, now=NOW)
    _repo(tmp_path, "    text: Hej" + STOP, "    quiet_hours: false\n")
    (repo / "c.yaml").write_text((repo / "c.yaml").read_text().replace("T10:00", "T07:30"))
    assert load_config(repo, ENV, now=NOW).warnings == ()


NEW_ACCOUNT_KEYS = ("quiet_hours", "timezone", "price_per_segment")
NEW_CAMPAIGN_KEYS = ("exclude_opted_out", "marketing")


def test_schemas_accept_exactly_the_new_keys(tmp_path: Path) -> None:
    """Every new key loads; a misspelled one, a malformed window or a lower-case currency is refused."""
    extra = (
        '    quiet_hours: "07:30-22:00"\n    timezone: Europe/Oslo\n'
        "    price_per_segment: {amount: 0.05, currency: NOK}\n"
    )
    repo = _repo(
        tmp_path, "    text: Hej" + STOP + "\n    exclude_opted_out: true\n    marketing: true", extra
    )
    account = load_config(repo, ENV, now=NOW).accounts["se"]
    assert str(account.policy.window) == "07:30-22:00" and account.policy.timezone == "Europe/Oslo"
    assert account.policy.price is not None and account.policy.price.currency == "NOK"
    for bad in (
        "    quiet_hour: 08:00-21:00\n",
        '    quiet_hours: "8-21"\n',
        "    price_per_segment: {amount: 1, currency: nok}\n",
    ):
        _repo(tmp_path, "    text: Hej" + STOP, bad)
        with pytest.raises(Exception, match="reconciler.yaml"):
            load_config(repo, ENV, now=NOW)


def test_configuration_reference_documents_every_new_key() -> None:
    """docs/configuration.md names each new account and campaign key."""
    text = (Path(__file__).resolve().parents[2] / "docs" / "configuration.md").read_text(encoding="utf-8")
    for key in (*NEW_ACCOUNT_KEYS, *NEW_CAMPAIGN_KEYS):
        assert f"`{key}`" in text or f"<name>.{key}`" in text, key
