"""Plan-time rules of InTime (docs/providers/intime.md): refine and check, pure, no network.

:func:`refine` turns what InTime cannot do in place into what it can: an update of an inactive
reminder or of a scheduled campaign becomes a replace, a sent campaign cannot change. :func:`check`
warns about a state file that looks lost (contacts and campaigns cannot be listed, so their ids
live only in the state).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from reconciler.changes import Action, Change
from reconciler.errors import Problem
from reconciler.model import Resource
from reconciler.providers.base import LiveState
from reconciler.providers.intime.capabilities import CAPABILITIES
from reconciler.providers.intime.translate import desired_attrs, instant

INACTIVE_REASON = "the reminder is inactive; InTime cannot edit it, so a new reminder is added"
CAMPAIGN_REASON = "InTime cannot edit a scheduled message: it is removed and created again"


def _aware(now: datetime) -> datetime:
    return now if now.tzinfo else now.replace(tzinfo=UTC)


def refine(change: Change, live: Resource | None, now: datetime) -> Change | Problem:
    """Sent campaigns cannot change; inactive reminders are replaced; campaign updates are replaces."""
    if change.type == "campaigns":
        return refine_campaign(change, live, _aware(now))
    if (
        change.type == "reminders"
        and change.action is Action.UPDATE
        and live is not None
        and live.attrs.get("active") is False
    ):
        derived = CAPABILITIES["reminders"].derived_fields
        before = {k: v for k, v in live.attrs.items() if k not in derived}
        desired = desired_attrs(change, before)
        if desired.get("active") is False:
            return Problem(
                "the reminder is inactive on InTime and declared inactive; "
                "InTime cannot edit inactive reminders, so its other changes cannot be applied "
                "(declare active: true to add a new reminder instead)",
                severity="warning",
            )
        return dataclasses.replace(
            change, action=Action.REPLACE, before=before, after=desired, fields=(), reason=INACTIVE_REASON
        )
    return change


def refine_campaign(change: Change, live: Resource | None, now: datetime) -> Change | Problem:
    """A campaign change with ``now`` aware: sent ones cannot change, updates are replaces."""
    if live is None or change.action is Action.CREATE:
        return change
    send_at = live.attrs.get("send_at")
    if not send_at:
        return Problem(
            "campaign already sent when it was created (send_now); it cannot change", severity="warning"
        )
    if instant(str(send_at)) <= now:
        if change.action is Action.DELETE:
            # Removed from the YAML after it was sent: nothing to remove on InTime, only the record.
            reason = f"sent at {send_at}; InTime keeps sent messages, so only the state record is dropped"
            return dataclasses.replace(change, reason=reason)
        return Problem(
            f"campaign already sent at {send_at}; it cannot change (give the campaign a new name to send "
            "another one, or remove it from the YAML)",
            severity="warning",
        )
    if change.action is Action.UPDATE:
        before = dict(live.attrs)
        return dataclasses.replace(
            change,
            action=Action.REPLACE,
            before=before,
            after=desired_attrs(change, before),
            fields=(),
            reason=CAMPAIGN_REASON,
        )
    return change


def check(
    account: str,
    state: Mapping[str, Mapping[str, Any]],
    desired: Mapping[str, Mapping[str, Resource]],
    live: LiveState,
) -> list[Problem]:
    """A state file that looks lost. (Blocked recipients are checked by the generic audience
    check, reconciler.sms.audience, from the declared SENDING data.)"""
    return check_lost_state(account, state, desired, live)


def check_lost_state(
    account: str,
    state: Mapping[str, Mapping[str, Any]],
    desired: Mapping[str, Mapping[str, Resource]],
    live: LiveState,
) -> list[Problem]:
    """Contacts and campaigns cannot be listed: without their state records they would be created
    again. Warn when none is recorded although the account already holds declared groups or reminders."""
    unrecorded = [t for t in ("contacts", "campaigns") if desired.get(t) and not state.get(t)]
    declared_groups = set(desired.get("groups", {}))
    known = [r for r in live.get("groups", ()) if r.key in declared_groups] + list(live.get("reminders", ()))
    if not unrecorded or not known:
        return []
    return [
        Problem(
            f"{account}: the state file records no {' or '.join(unrecorded)}, but the account "
            "already has declared groups or reminders; if the state file was lost, apply will create "
            f"these {' and '.join(unrecorded)} again (InTime cannot list them): restore the state file "
            "first",
            severity="warning",
        )
    ]
