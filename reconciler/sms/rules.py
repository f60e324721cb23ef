"""What a provider declares about sending, and the validate-time checks of one message item.

A provider that sends (its resource type of messages, usually ``campaigns``) declares a
:class:`Sending` record in its ``ProviderInfo``: its text limits, its sender rule, where recipients
come from and which of them it filters for opt-outs itself. :func:`check_message` holds one
normalized item to those declarations without any network: the text's length in characters or
segments, the sender, opt-out wording in marketing texts, a character that forces UCS-2 and so
multiplies the segments, and the account's sending window (:class:`Window`). See docs/messages.md.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

from reconciler.sms.encoding import GSM_REPLACEMENTS, UCS2, describe, encode

# A marketing text should tell people how to opt out; any of these words (case-insensitive, as a
# word) counts. English plus the Nordic words the supported regions use.
OPT_OUT_WORDS = re.compile(
    r"\b(stop|stopp|unsubscribe|opt[ -]?out|avregistrera|avsluta|avmeld\w*|afmeld\w*|reserver\w*)\b",
    re.IGNORECASE,
)
# A few characters forcing UCS-2 are a slip worth pointing at; more are a text in another script.
FEW_FORCING = 3


@dataclass(frozen=True)
class TextLimit:
    """A provider's limit on one text: in characters and/or in segments; ``what`` names the rule."""

    max_characters: int | None = None
    max_segments: int | None = None
    what: str = ""


@dataclass(frozen=True)
class SenderRule:
    """Valid senders: up to ``alphanumeric_max`` characters matching ``alphanumeric`` (a regex
    character class body), or up to ``numeric_max`` digits (an optional leading ``+`` when
    ``plus``)."""

    alphanumeric: str = "A-Za-z0-9 .+-"
    allowed: str = "A-Z a-z 0-9, space, '.', '-' and '+'"
    alphanumeric_max: int = 11
    numeric_max: int = 15
    plus: bool = True

    def problem(self, sender: str) -> str | None:
        """Why ``sender`` is not valid under this rule, or None."""
        digits = sender[1:] if self.plus and sender.startswith("+") else sender
        if digits.isascii() and digits.isdigit():
            if len(digits) <= self.numeric_max:
                return None
            limit = self.numeric_max
            return f"sender {sender!r} has {len(digits)} digits (a numeric sender has at most {limit})"
        pattern = f"[{self.alphanumeric}]{{1,{self.alphanumeric_max}}}"
        if re.fullmatch(pattern, sender):
            return None
        if len(sender) > self.alphanumeric_max:
            why = f"is {len(sender)} characters long"
        else:
            bad = next((ch for ch in sender if not re.fullmatch(f"[{self.alphanumeric}]", ch)), "")
            why = f"contains {describe(bad)}"
        return (
            f"sender {sender!r} {why} (an alphanumeric sender has at most {self.alphanumeric_max} "
            f"characters of {self.allowed}, a numeric one at most {self.numeric_max} digits)"
        )


@dataclass(frozen=True)
class Expansion:
    """Recipients named through other items: the names at ``path`` are items of ``type``.

    With ``member_of`` set (``groups``), every item of ``type`` listing the name in that attribute
    is a member and its ``number`` attribute a recipient; without it the item keyed by the name
    holds the recipients in ``number`` (a list). ``filtered``: the provider leaves opted-out
    numbers out of these recipients itself when it sends.
    """

    path: str
    type: str
    number: str
    member_of: str = ""
    filtered: bool = False


def _never(attrs: Mapping[str, Any]) -> bool:
    return False


def _no_limit(attrs: Mapping[str, Any]) -> TextLimit:
    return TextLimit()


@dataclass(frozen=True)
class Sending:
    """How a provider sends messages: declared data the generic checks read.

    ``type`` holds the message items; ``numbers`` is the attribute path of direct recipients
    (``numbers_filtered``: the provider drops opted-out ones itself); ``expansions`` the other
    recipient paths. ``opt_out_types`` are resource types whose keys are opted-out numbers
    (declared and live). ``limit(attrs)`` is the text limit of one item, ``sender_rule`` the
    sender rule (``None``: the provider has no sender). ``inactive(attrs)`` tells an item that
    will not send as declared (a stopped campaign). ``charset`` names a narrower alphabet the
    API accepts (e.g. ``latin-1``), checked by the provider's own rules. ``policy_fields`` are
    keys that steer the tool only: never sent to the provider nor compared.
    """

    type: str = "campaigns"
    numbers: str = "to.numbers"
    numbers_filtered: bool = False
    expansions: tuple[Expansion, ...] = ()
    opt_out_types: tuple[str, ...] = ()
    limit: Callable[[Mapping[str, Any]], TextLimit] = _no_limit
    sender_rule: SenderRule | None = SenderRule()
    inactive: Callable[[Mapping[str, Any]], bool] = _never
    policy_fields: frozenset[str] = frozenset({"exclude_opted_out", "marketing"})


@dataclass(frozen=True)
class Window:
    """The daily window in which messages may be sent, in minutes since midnight, local time.

    ``start > end`` wraps past midnight (``22:00-06:00``). See docs/messages.md.
    """

    start: int = 8 * 60
    end: int = 21 * 60

    def __str__(self) -> str:
        return f"{_clock(self.start)}-{_clock(self.end)}"

    def allows(self, minute: int) -> bool:
        if self.start < self.end:
            return self.start <= minute < self.end
        return minute >= self.start or minute < self.end


DEFAULT_WINDOW = Window()
_WINDOW = re.compile(r"^([01]\d|2[0-3]):([0-5]\d)-([01]\d|2[0-4]):([0-5]\d)$")


def _clock(minutes: int) -> str:
    return f"{minutes // 60:02d}:{minutes % 60:02d}"


def parse_window(text: str) -> Window:
    """``"08:00-21:00"`` -> Window; raises ValueError with how to write it."""
    match = _WINDOW.match(text.strip())
    if not match:
        raise ValueError(f"{text!r} is not a time window (write HH:MM-HH:MM, e.g. 08:00-21:00)")
    start = int(match[1]) * 60 + int(match[2])
    end = int(match[3]) * 60 + int(match[4])
    if end > 24 * 60:
        raise ValueError(f"{text!r} ends after 24:00 (end the window at 24:00 at most)")
    if start == end:
        raise ValueError(f"{text!r} is an empty window (to allow every hour, write quiet_hours: false)")
    return Window(start, end)


@dataclass(frozen=True)
class Price:
    """What one segment costs on an account."""

    amount: Decimal
    currency: str


@dataclass(frozen=True)
class Policy:
    """An account's sending policy: window (``None``: any hour), time zone, price per segment."""

    window: Window | None = DEFAULT_WINDOW
    timezone: str | None = None
    price: Price | None = None


@dataclass(frozen=True)
class Finding:
    """One message problem: attribute path, message, severity, and the 0-based index of the
    offending character in the text when it points at one."""

    path: str
    message: str
    severity: str = "error"
    index: int | None = field(default=None)


def _plural(count: int, word: str) -> str:
    return f"{count} {word}{'' if count == 1 else 's'}"


def check_text(text: str, limit: TextLimit) -> list[Finding]:
    """Length against ``limit`` and a character forcing UCS-2 (see the module docstring)."""
    findings: list[Finding] = []
    encoded = encode(text)
    what = f" for {limit.what}" if limit.what else ""
    unit = "UCS-2 units" if encoded.encoding == UCS2 else "septets"
    if limit.max_characters is not None and encoded.characters > limit.max_characters:
        findings.append(
            Finding(
                "text",
                (
                    f"the text has {encoded.characters} characters, over the limit of "
                    f"{limit.max_characters}{what} (shorten it)"
                ),
            )
        )
    if limit.max_segments is not None and encoded.segments > limit.max_segments:
        findings.append(
            Finding(
                "text",
                (
                    f"the text takes {_plural(encoded.segments, 'segment')} as {encoded.encoding} "
                    f"({encoded.units} {unit}), over the limit of {limit.max_segments}{what} (shorten it)"
                ),
            )
        )
    if encoded.forcing and len(encoded.forcing) <= FEW_FORCING and encoded.segments > encoded.gsm_segments:
        index, char = encoded.forcing[0]
        line = text.count("\n", 0, index) + 1
        column = index - (text.rfind("\n", 0, index) + 1) + 1
        at = f"line {line}, column {column}" if "\n" in text else f"column {column}"
        others = len(encoded.forcing) - 1
        more = f" (and {_plural(others, 'other character')} outside GSM 03.38)" if others else ""
        fix = GSM_REPLACEMENTS.get(char)
        hint = f"write {fix!r} instead" if fix else "replace it with a GSM 03.38 character"
        findings.append(
            Finding(
                "text",
                (
                    f"{describe(char)} at {at} of the text is not in the GSM 03.38 alphabet{more}, so "
                    f"the whole text is sent as UCS-2: {_plural(encoded.segments, 'segment')} per "
                    f"recipient instead of {encoded.gsm_segments} ({hint})"
                ),
                "warning",
                index,
            )
        )
    return findings


def check_message(
    attrs: Mapping[str, Any], sending: Sending, policy: Policy, now: datetime | None = None
) -> list[Finding]:
    """Every message rule of ``sending`` and ``policy`` on one normalized item (no network).

    ``send_at`` is read as normalized (UTC, ``YYYY-MM-DDTHH:MM:SSZ``); a sending window is
    checked in ``policy.timezone``, and a missing time zone is a finding of its own.
    """
    findings: list[Finding] = []
    text = attrs.get("text")
    if isinstance(text, str) and text:
        findings += check_text(text, sending.limit(attrs))
        if attrs.get("marketing", True) is not False and not OPT_OUT_WORDS.search(text):
            findings.append(
                Finding(
                    "text",
                    (
                        'a marketing text should say how to opt out (add e.g. "Reply STOP to opt out", '
                        "or set marketing: false on a service message)"
                    ),
                    "warning",
                )
            )
    sender = attrs.get("sender")
    if sending.sender_rule is not None and isinstance(sender, str) and sender:
        if problem := sending.sender_rule.problem(sender):
            findings.append(Finding("sender", problem))
    send_at = attrs.get("send_at")
    if policy.window is not None and isinstance(send_at, str) and send_at:
        findings += _check_window(send_at, policy)
    return findings


def _check_window(send_at: str, policy: Policy) -> list[Finding]:
    assert policy.window is not None
    if policy.timezone is None:
        return [
            Finding(
                "send_at",
                (
                    "the account's region has no single time zone, so its sending window cannot be "
                    "checked (set timezone: on the account, e.g. America/New_York, or quiet_hours: false)"
                ),
            )
        ]
    when = datetime.fromisoformat(send_at.replace("Z", "+00:00")).astimezone(ZoneInfo(policy.timezone))
    if policy.window.allows(when.hour * 60 + when.minute):
        return []
    local = when.strftime("%Y-%m-%d %H:%M")
    return [
        Finding(
            "send_at",
            (
                f"send_at is {local} in {policy.timezone}, outside the account's sending window "
                f"{policy.window} (move it inside, or change quiet_hours on the account)"
            ),
        )
    ]


# The time zone of regions where the whole country keeps one clock (tz database), used when an
# account sets no timezone. Regions spanning several clocks (US, AU, ES with the Canaries, PT with
# the Azores ...) have no default: such an account sets timezone itself. See docs/messages.md.
REGION_ZONES = {
    "AT": "Europe/Vienna",
    "BE": "Europe/Brussels",
    "BG": "Europe/Sofia",
    "CH": "Europe/Zurich",
    "CY": "Asia/Nicosia",
    "CZ": "Europe/Prague",
    "DE": "Europe/Berlin",
    "DK": "Europe/Copenhagen",
    "EE": "Europe/Tallinn",
    "FI": "Europe/Helsinki",
    "FR": "Europe/Paris",
    "GB": "Europe/London",
    "GR": "Europe/Athens",
    "HR": "Europe/Zagreb",
    "HU": "Europe/Budapest",
    "IE": "Europe/Dublin",
    "IS": "Atlantic/Reykjavik",
    "IT": "Europe/Rome",
    "LT": "Europe/Vilnius",
    "LU": "Europe/Luxembourg",
    "LV": "Europe/Riga",
    "MT": "Europe/Malta",
    "NL": "Europe/Amsterdam",
    "NO": "Europe/Oslo",
    "PL": "Europe/Warsaw",
    "RO": "Europe/Bucharest",
    "SE": "Europe/Stockholm",
    "SI": "Europe/Ljubljana",
    "SK": "Europe/Bratislava",
    "IN": "Asia/Kolkata",
    "JP": "Asia/Tokyo",
    "NZ": "Pacific/Auckland",
    "SG": "Asia/Singapore",
    "ZA": "Africa/Johannesburg",
}


def region_zone(region: str) -> str | None:
    """The default time zone of ``region`` (ISO 3166), or None when it keeps several clocks."""
    return REGION_ZONES.get(region.upper())
