"""What the 82830 SMSConnector Web API can manage (docs/providers/smsconnector.md).

Also the provider's offline rules on one desired item (``validate_item``) and the limits they use,
so `reconciler validate` can reject an over-long campaign text without a network call.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from reconciler.model import get_path
from reconciler.providers.base import Capability, ProviderInfo, cannot, yes

APPEND_ONLY = (
    "SMSConnector phone lists are append-only: numbers and lists cannot be removed through the API; "
    "remove them in the 82830 web portal"
)

# ASSUMPTION (the reference gives no limit): AddMultipleEntries takes at most this many entries per
# call; the emulator answers StatusEnum 2 (InvalidParameters) above it, the provider batches by it.
ADD_ENTRIES_LIMIT = 500

# Campaign text limits (our choice; the reference documents none): at most 6 concatenated SMS parts,
# i.e. 6 x 153 = 918 GSM-7 characters (extension characters such as "€" count twice) or
# 6 x 67 = 402 characters when the text needs UCS-2 (any character outside GSM-7).
MAX_PARTS = 6
GSM_PART, UCS2_PART = 153, 67
GSM_BASIC = frozenset(
    "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?"
    "¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà"
)
GSM_EXTENDED = frozenset("^{}\\[~]|€\f")
CAMPAIGN_STATUSES = ("scheduled", "stopped")

CAPABILITIES = {
    "phone_lists": Capability(
        list=yes(),
        create=yes(),
        update=yes("numbers can only be added"),
        delete=cannot(APPEND_ONLY),
        fields=frozenset({"name", "numbers", "folder"}),
        immutable_fields=frozenset({"folder"}),
        append_only_fields=frozenset({"numbers"}),
    ),
    "campaigns": Capability(
        list=cannot("SMSConnector cannot read campaigns back; the tool relies on the ids in its state"),
        create=yes(),
        update=yes("only the launch status and the linked phone lists change in place"),
        delete=yes("SMSConnector cannot delete campaigns: a removed campaign is stopped"),
        replace=yes("SMSConnector cannot edit a campaign: the old one is stopped and a new one created"),
        fields=frozenset({"name", "text", "sender", "brand", "folder", "send_at", "to", "status"}),
        immutable_fields=frozenset(
            {"text", "sender", "brand", "folder", "send_at", "to.numbers", "to.groups"}
        ),
        tracked=True,
    ),
}


def text_length(text: str) -> tuple[int, int]:
    """``(units, limit)`` of an SMS text: GSM-7 septets and 918, or UCS-2 characters and 402."""
    if all(ch in GSM_BASIC or ch in GSM_EXTENDED for ch in text):
        return sum(2 if ch in GSM_EXTENDED else 1 for ch in text), MAX_PARTS * GSM_PART
    return len(text), MAX_PARTS * UCS2_PART


def validate_item(type_: str, attrs: Mapping[str, Any]) -> list[tuple[str, str]]:
    """SMSConnector rules on one normalized desired item: ``[(attribute path, message)]``."""
    problems: list[tuple[str, str]] = []
    if type_ != "campaigns":
        return problems
    text = attrs.get("text")
    if not isinstance(text, str) or not text:
        problems.append(("text", "a campaign needs a text"))
    else:
        units, limit = text_length(text)
        if units > limit:
            parts = f"{MAX_PARTS} SMS parts" + ("" if limit == MAX_PARTS * GSM_PART else " of UCS-2")
            problems.append(
                (
                    "text",
                    f"text is {units} characters long; SMSConnector campaigns allow {limit} "
                    f"({parts}): shorten it",
                )
            )
    if not attrs.get("sender"):
        problems.append(("sender", 'a campaign needs a sender (one of the company\'s headers, e.g. "82830")'))
    if not attrs.get("send_at"):
        problems.append(("send_at", "SMSConnector campaigns need send_at (the launch time)"))
    status = attrs.get("status", "scheduled")
    if status not in CAMPAIGN_STATUSES:
        problems.append(("status", f"status {status!r} is not one of: {', '.join(CAMPAIGN_STATUSES)}"))
    for path in ("to.numbers", "to.groups"):
        if get_path(attrs, path):
            problems.append(
                (
                    path,
                    "SMSConnector campaigns send to phone lists only: put the numbers in a "
                    "phone list and name it in to.phone_lists",
                )
            )
    if status == "scheduled" and not get_path(attrs, "to.phone_lists"):
        problems.append(
            (
                "to.phone_lists",
                "a scheduled SMSConnector campaign needs at least one phone list "
                "(to: {phone_lists: [...]}), or set status: stopped",
            )
        )
    return problems


INFO = ProviderInfo(
    name="smsconnector",
    capabilities=CAPABILITIES,
    default_url="https://webapi.82830.co.uk",
    timezone="Europe/London",
    credentials=("username", "password", "reusable_token"),
    optional_credentials=("password", "reusable_token"),
    validate_item=validate_item,
)
