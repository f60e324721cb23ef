"""What the InTime Messenger XML API can manage (docs/providers/intime.md).

Also holds InTime's item rules that need no network (``validate_item``): ISO-8859-1 text,
sender titles, body lengths, send dates and recipients.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from datetime import UTC, datetime
from typing import Any

from reconciler.providers.base import Capability, ProviderInfo, cannot, yes
from reconciler.sms.rules import Expansion, SenderRule, Sending, TextLimit

CONTACTS_WRITE_ONLY = (
    "InTime's API can only create contacts; change or delete this contact in the InTime web UI "
    "(Contacts), then remove it from the YAML or run `reconciler state rm`"
)
CAMPAIGN_FIELDS = frozenset({"name", "text", "sender", "send_at", "send_now", "to", "flash", "multisms"})
# Keys that steer the tool's checks only (reconciler.sms): accepted, never sent nor compared.
POLICY_FIELDS = frozenset({"exclude_opted_out", "marketing"})

CAPABILITIES = {
    "groups": Capability(
        list=yes(),
        create=yes(),
        update=cannot("InTime cannot rename groups"),
        delete=yes(),
        fields=frozenset({"name"}),
        batch_size=100,
        delete_warning="InTime drops every membership of a deleted group (renaming is delete + create)",
    ),
    "contacts": Capability(
        list=cannot("InTime's API cannot list contacts, so live contacts cannot be audited"),
        create=yes(),
        update=cannot(CONTACTS_WRITE_ONLY),
        delete=cannot(CONTACTS_WRITE_ONLY),
        fields=frozenset({"mobile", "email", "first_name", "last_name", "description", "groups"}),
        batch_size=500,
        tracked=True,
    ),
    "blocklist": Capability(
        list=yes(),
        create=yes(),
        update=cannot("a blocklist entry has no attributes to change"),
        delete=yes(),
        fields=frozenset({"mobile"}),
        batch_size=500,
    ),
    "reminders": Capability(
        list=yes(),
        create=yes(),
        update=yes("only active reminders can be edited"),
        delete=yes("InTime cannot delete reminders: a removed reminder is deactivated (active=false)"),
        replace=yes(
            "InTime cannot edit an inactive reminder: a new one is added and the old one stays inactive"
        ),
        fields=frozenset({"name", "appointment", "organizer", "attendant", "active"}),
        # InTime derives the message fields; `name` is the user's key (kept in state, unknown to
        # InTime, so an adopted reminder has none): none of them is compared.
        derived_fields=frozenset({"name", "message_date", "message_text", "user_alias"}),
        batch_size=100,
        tracked=True,
        adopt_by=("attendant.mobile", "appointment"),
    ),
    "campaigns": Capability(
        list=cannot("InTime cannot read back scheduled messages; the tool relies on the ids in its state"),
        create=yes(),
        update=cannot("InTime cannot edit a scheduled message"),
        delete=yes("a scheduled message is removed while its send time is still in the future"),
        replace=yes(
            "InTime cannot edit a scheduled message: it is removed and created again while still scheduled"
        ),
        fields=CAMPAIGN_FIELDS | POLICY_FIELDS,
        immutable_fields=CAMPAIGN_FIELDS - {"name"},
        tracked=True,
    ),
}

SINGLE_SMS = 160  # characters in one SMS; also the flash SMS limit
MULTI_SMS = 804  # 6 SMS x 134 characters with multisms


def latin1_problem(text: str) -> str | None:
    """Why ``text`` cannot travel in InTime's ISO-8859-1 XML, or None when it can."""
    for char in text:
        if ord(char) > 0xFF:
            return (
                f"{char!r} (U+{ord(char):04X}) cannot be sent: InTime accepts only ISO-8859-1 (Latin-1) "
                "text; remove or replace the character"
            )
    return None


def text_limit(attrs: Mapping[str, Any]) -> TextLimit:
    """InTime's body limit (reference section 4.1): 160 characters and one SMS for a flash or
    single SMS, 804 characters with multisms."""
    if attrs.get("flash"):
        return TextLimit(SINGLE_SMS, 1, "a flash SMS")
    if attrs.get("multisms") is False:
        return TextLimit(SINGLE_SMS, 1, "a single SMS (multisms: false)")
    return TextLimit(MULTI_SMS, None, "InTime's multi-SMS (6 x 134)")


# Reference section 4.1: sender titles are at most 11 of A-Z a-z 0-9 space . - + or 15 digits;
# message/create with checknix=1 skips blocked group members but not direct recipients.
SENDING = Sending(
    expansions=(Expansion("to.groups", "contacts", "mobile", member_of="groups", filtered=True),),
    opt_out_types=("blocklist",),
    limit=text_limit,
    sender_rule=SenderRule(alphanumeric="A-Za-z0-9 .+-", allowed="A-Z a-z 0-9, space, '.', '-' and '+'"),
)


def _strings(value: Any, path: str = "") -> Iterator[tuple[str, str]]:
    if isinstance(value, str):
        yield path, value
    elif isinstance(value, Mapping):
        for name, item in value.items():
            yield from _strings(item, f"{path}.{name}" if path else str(name))
    elif isinstance(value, (list, tuple)):
        for item in value:
            yield from _strings(item, path)


def _campaign_problems(attrs: Mapping[str, Any], now: datetime) -> list[tuple[str, str]]:
    problems: list[tuple[str, str]] = []
    if not attrs.get("sender"):
        problems.append(("sender", "a campaign needs a sender (InTime's sender title)"))
    if not attrs.get("text"):
        problems.append(("text", "a campaign needs a text"))
    send_at, send_now = attrs.get("send_at"), attrs.get("send_now")
    if send_at and send_now:
        problems.append(("send_now", "send_now and send_at exclude each other: keep one"))
    elif send_at:
        when = datetime.fromisoformat(str(send_at).replace("Z", "+00:00"))
        if when <= now:
            problems.append(
                (
                    "send_at",
                    f"send_at {send_at} is in the past; InTime cannot schedule it "
                    "(if the campaign was already sent, remove it from the file)",
                )
            )
    elif not send_now:
        problems.append(
            (
                "send_at",
                "a campaign needs send_at (the tool never sends immediately unless the "
                "campaign says send_now: true)",
            )
        )
    to = attrs.get("to") or {}
    if to.get("phone_lists"):
        problems.append(
            ("to.phone_lists", "InTime has no phone lists; address groups (to.groups) or numbers")
        )
    if not to.get("numbers") and not to.get("groups"):
        problems.append(("to", "a campaign needs recipients: to.numbers and/or to.groups"))
    return problems


def _reminder_problems(attrs: Mapping[str, Any]) -> list[tuple[str, str]]:
    problems: list[tuple[str, str]] = []
    appointment = attrs.get("appointment")
    if not appointment:
        problems.append(("appointment", "a reminder needs an appointment date-time"))
    elif not str(appointment).endswith(":00"):
        problems.append(("appointment", "InTime keeps appointment times to the minute: use 00 seconds"))
    attendant = attrs.get("attendant") or {}
    if not attendant.get("mobile"):
        problems.append(
            ("attendant.mobile", "a reminder needs the attendant's mobile number (who gets the SMS)")
        )
    return problems


def validate_item(type_: str, attrs: Mapping[str, Any], now: datetime | None = None) -> list[tuple[str, str]]:
    """InTime's rules for one normalized desired item: ``[(attribute path, message)]``."""
    problems = [(path, problem) for path, text in _strings(attrs) if (problem := latin1_problem(text))]
    if type_ == "campaigns":
        problems += _campaign_problems(attrs, now or datetime.now(UTC))
    elif type_ == "reminders":
        problems += _reminder_problems(attrs)
    return problems


INFO = ProviderInfo(
    name="intime",
    capabilities=CAPABILITIES,
    default_url="https://sms.intime.nu/api/1.0",
    timezone="Europe/Stockholm",
    credentials=("user", "hash"),
    secret_credentials=("hash",),
    validate_item=validate_item,
    sending=SENDING,
)
