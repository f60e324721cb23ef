"""Translation between the tool's resources and InTime's input elements, one function per kind.

Pure functions, no network: contacts to a ``contacts/add`` :class:`ContactIn`, reminders to
``reminder/add`` and ``reminder/edit`` elements (section 7.2), a campaign's ``send_at`` to the
Swedish local ``senddate`` of ``message/create`` (section 4.1), and the helpers that read the
desired values out of an update :class:`Change`.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from reconciler.changes import Change
from reconciler.model import get_path
from reconciler.providers.intime.capabilities import INFO
from reconciler.providers.intime.documents import ContactIn

# Reminder attribute paths -> reminder/add and reminder/edit input elements (section 7.2).
REMINDER_ELEMENTS = {
    "appointment": "appointmentdate",
    "organizer.title": "organizer_title",
    "organizer.first_name": "organizer_firstname",
    "organizer.last_name": "organizer_lastname",
    "attendant.first_name": "attendant_firstname",
    "attendant.last_name": "attendant_lastname",
    "attendant.mobile": "attendant_mobile",
}


def shortlist(keys: Sequence[str], limit: int = 3) -> str:
    """``keys`` for a message: the first ``limit`` of them, then "and N more"."""
    shown = ", ".join(keys[:limit])
    return shown + (f" and {len(keys) - limit} more" if len(keys) > limit else "")


def instant(text: str) -> datetime:
    """An ISO 8601 instant (``Z`` accepted)."""
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


def desired_attrs(change: Change, base: Mapping[str, Any]) -> dict[str, Any]:
    """The full desired attrs of an update: ``change.desired``, else ``base`` with ``after`` merged."""
    if change.desired:
        return dict(change.desired)
    merged: dict[str, Any] = {k: dict(v) if isinstance(v, Mapping) else v for k, v in base.items()}
    for path, value in (change.after or {}).items():
        *parents, last = path.split(".")
        target = merged
        for part in parents:
            target = target.setdefault(part, {})
        target[last] = value
    return merged


def changed_value(change: Change, path: str) -> Any:
    """The new value of ``path`` in an update (full desired attrs first, then ``after``)."""
    desired = change.desired
    if desired:
        return get_path(desired, path)
    after = change.after or {}
    return after[path] if path in after else get_path(after, path)


def contact_to_api(attrs: Mapping[str, Any], group_ids: tuple[int, ...]) -> ContactIn:
    """A contact's attrs as ``contacts/add`` input: type 1 SMS, 2 e-mail, 3 both (section 5.1)."""
    mobile, email = str(attrs.get("mobile") or ""), str(attrs.get("email") or "")
    return ContactIn(
        type=3 if mobile and email else 1 if mobile else 2,
        mobile=mobile,
        email=email,
        first_name=str(attrs.get("first_name") or ""),
        last_name=str(attrs.get("last_name") or ""),
        extrafield=str(attrs.get("description") or ""),
        group_ids=group_ids,
    )


def reminder_to_api(
    attrs: Mapping[str, Any], paths: Collection[str] = tuple(REMINDER_ELEMENTS)
) -> dict[str, str]:
    """The ``reminder/add`` elements of the attribute ``paths`` that have a value in ``attrs``."""
    elements = {}
    for path in paths:
        value = get_path(attrs, path)
        if value is not None:
            elements[REMINDER_ELEMENTS[path]] = str(value)
    return elements


def reminder_edit_to_api(change: Change) -> dict[str, str]:
    """The ``reminder/edit`` elements of an update: only the changed ones (``active`` as true/false)."""
    paths = {
        p
        for f in change.fields
        for p in (
            [f]
            if f in REMINDER_ELEMENTS or f == "active"
            else [p for p in REMINDER_ELEMENTS if p.startswith(f + ".")]
        )
    }
    item = {
        REMINDER_ELEMENTS[p]: str(v)
        for p in sorted(paths - {"active"})
        if (v := changed_value(change, p)) is not None
    }
    if "active" in paths and changed_value(change, "active") is not None:
        item["active"] = "true" if changed_value(change, "active") else "false"
    return item


def send_date_to_api(send_at: Any) -> str | None:
    """A campaign's ``send_at`` as the Swedish local ``YYYY-MM-DDTHH:MM:SS``; None (send now) if unset."""
    if not send_at:
        return None
    return instant(str(send_at)).astimezone(ZoneInfo(INFO.timezone)).strftime("%Y-%m-%dT%H:%M:%S")
