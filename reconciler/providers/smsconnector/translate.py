"""Translation between the tool's values and the 82830 SMSConnector Web API, one function per kind.

Pure functions, no network: numbers (E.164 in the tool, digits without ``+`` in SMSConnector),
instants (UTC in the tool, UK local time with offset in the API, section 3.1), and the helpers
that read a campaign's changed values and whether it has been sent.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any
from zoneinfo import ZoneInfo

from reconciler.model import get_path, normalize_number
from reconciler.providers.smsconnector.capabilities import INFO

UK = ZoneInfo(INFO.timezone)


def number_to_api(number: str) -> str:
    """E.164 ``+447700900123`` as SMSConnector stores numbers: ``447700900123``."""
    return number.removeprefix("+")


def number_from_api(raw: str, region: str) -> str:
    """A stored number (``447700900123``, ``07700 900123``) as E.164; raises InvalidNumber."""
    return normalize_number(raw, region)


def launch_at_to_api(send_at: str) -> str:
    """A normalized UTC instant (``2027-03-01T09:00:00Z``) as UK local time with offset."""
    return instant(send_at).astimezone(UK).isoformat()


def instant(value: str) -> datetime:
    """An ISO 8601 instant (``Z``, offsets and .NET's 7 fractional digits accepted); naive = UK."""
    dt = datetime.fromisoformat(re.sub(r"(\.\d{6})\d+", r"\1", value.strip().replace("Z", "+00:00")))
    return dt if dt.tzinfo else dt.replace(tzinfo=UK)


def event_time(value: str) -> datetime | None:
    """The instant of an opt-out event's ``Date``; None when it is empty or unreadable."""
    try:
        return instant(value) if value else None
    except ValueError:
        return None


def changed_value(values: Mapping[str, Any] | None, path: str) -> Any:
    """A changed value from an update's before/after, keyed flat (``to.phone_lists``) or nested."""
    values = values or {}
    return values[path] if path in values else get_path(values, path)


def is_sent(attrs: Mapping[str, Any], now: datetime) -> bool:
    """True when a campaign was armed (status scheduled) and its send time has passed."""
    send_at = attrs.get("send_at")
    if attrs.get("status", "scheduled") != "scheduled" or not send_at:
        return False
    when = now if now.tzinfo else now.replace(tzinfo=UTC)
    return instant(str(send_at)) <= when
