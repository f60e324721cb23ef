"""What the 82830 SMSConnector Web API can manage (docs/providers/smsconnector.md).

Also the provider's offline rules on one desired item (``validate_item``) and the limits they use,
so `reconciler validate` can reject an over-long campaign text without a network call.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from reconciler.model import get_path
from reconciler.providers.base import Capability, ProviderInfo, cannot, yes
from reconciler.sms.rules import Expansion, SenderRule, Sending, TextLimit

APPEND_ONLY = (
    "SMSConnector phone lists are append-only: numbers and lists cannot be removed through the API; "
    "remove them in the 82830 web portal"
)

# ASSUMPTION (the reference gives no limit): AddMultipleEntries takes at most this many entries per
# call; the emulator answers StatusEnum 2 (InvalidParameters) above it, the provider batches by it.
ADD_ENTRIES_LIMIT = 500

# Campaign text limit (our choice; the reference documents none): at most 6 concatenated SMS
# segments, i.e. 6 x 153 = 918 GSM-7 septets or 6 x 67 = 402 UCS-2 units (reconciler.sms.encoding).
MAX_SEGMENTS = 6
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
        fields=frozenset(
            {"name", "text", "sender", "brand", "folder", "send_at", "to", "status"}
            | {"exclude_opted_out", "marketing"}  # steer the tool's checks only (reconciler.sms)
        ),
        immutable_fields=frozenset(
            {"text", "sender", "brand", "folder", "send_at", "to.numbers", "to.groups"}
        ),
        tracked=True,
    ),
}


def text_limit(attrs: Mapping[str, Any]) -> TextLimit:
    """The campaign text limit: :data:`MAX_SEGMENTS` segments."""
    return TextLimit(None, MAX_SEGMENTS, "SMSConnector campaigns")


def inactive(attrs: Mapping[str, Any]) -> bool:
    """A stopped campaign sends nothing until it is set to scheduled."""
    return bool(attrs.get("status", "scheduled") == "stopped")


# The reference gives no sender format (senders must be company headers, checked at plan time):
# the common operator rule applies. STOPs are suppressed at send time for list recipients (5).
SENDING = Sending(
    expansions=(Expansion("to.phone_lists", "phone_lists", "numbers", filtered=True),),
    limit=text_limit,
    sender_rule=SenderRule(),
    inactive=inactive,
)


def validate_item(
    type_: str, attrs: Mapping[str, Any], now: datetime | None = None
) -> list[tuple[str, str]]:
    """SMSConnector rules on one normalized desired item: ``[(attribute path, message)]``."""
    problems: list[tuple[str, str]] = []
    if type_ != "campaigns":
        return problems
    text = attrs.get("text")
    if not isinstance(text, str) or not text:
        problems.append(("text", "a campaign needs a text"))
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
    secret_credentials=("password", "reusable_token"),
    optional_credentials=("password", "reusable_token"),
    validate_item=validate_item,
    sending=SENDING,
)
