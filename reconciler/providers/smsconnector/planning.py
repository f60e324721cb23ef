"""Plan-time rules of SMSConnector (docs/providers/smsconnector.md): refine and the checks.

:func:`refine` is pure: a sent campaign cannot change and a launch time in the past cannot be
launched. The checks read what the company has through the client: its headers and brands
(campaign senders), its folders, and the STOP/START events behind :func:`opted_out` (fed to the
generic audience check, reconciler.sms.audience); they also warn when no campaign is in the state
although its phone lists exist (a lost state file?).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Iterable, Mapping
from datetime import UTC, datetime

from reconciler.changes import Action, Change
from reconciler.errors import Problem
from reconciler.model import InvalidNumber, Resource, get_path
from reconciler.providers.base import LiveState
from reconciler.providers.smsconnector.client import SmsConnectorClient
from reconciler.providers.smsconnector.translate import (
    changed_value,
    event_time,
    instant,
    is_sent,
    number_from_api,
)


def refine(change: Change, live: Resource | None, now: datetime) -> Change | Problem:
    """Campaigns: a sent campaign cannot change; a launch time in the past cannot be launched."""
    if change.type != "campaigns":
        return change
    if change.action in (Action.UPDATE, Action.REPLACE) and live is not None and is_sent(live.attrs, now):
        return Problem(f"{change.address}: campaign {live.ident or ''} was sent at "
                       f"{live.attrs.get('send_at')}; SMSConnector campaigns cannot change after "
                       "sending, so this change is skipped (give the campaign a new name to send "
                       "another one)", severity="warning")
    if change.action is Action.DELETE and live is not None and is_sent(live.attrs, now):
        why = "already sent: nothing to stop, the record is dropped from state"
        return dataclasses.replace(change, reason=why)
    desired = change.wanted
    launching = change.action in (Action.CREATE, Action.REPLACE) or (
        change.action is Action.UPDATE and changed_value(change.after, "status") == "scheduled")
    if launching and desired.get("send_at") and desired.get("status", "scheduled") == "scheduled":
        when = now if now.tzinfo else now.replace(tzinfo=UTC)
        if instant(str(desired["send_at"])) <= when:
            return Problem(f"{change.address}: send_at {desired['send_at']} is in the past; "
                           "SMSConnector can only launch a campaign before its send time: move send_at "
                           "into the future or set status: stopped", severity="warning")
    return change


def problem(item: Resource, message: str, severity: str = "error") -> Problem:
    """A problem located at ``item``'s origin (file, line, column)."""
    origin = item.origin
    return Problem(message, origin.path if origin else "", origin.line if origin else 0,
                   origin.col if origin else 0, severity)


def check_company(client: SmsConnectorClient, campaigns: Mapping[str, Resource]) -> list[Problem]:
    """Campaign senders and brands the company does not have (reads its headers and brands)."""
    if not campaigns:
        return []
    headers, brands = client.headers(), client.brands()
    problems = []
    for item in campaigns.values():
        sender, brand = item.attrs.get("sender"), item.attrs.get("brand")
        if sender is not None and str(sender) not in headers:
            choices = ", ".join(headers) or "none"
            problems.append(problem(item, f"campaign {item.key!r}: sender {str(sender)!r} is not "
                                          f"one of the company's headers: {choices}"))
        if brand and str(brand) not in brands:
            choices = ", ".join(brands) or "none"
            problems.append(problem(item, f"campaign {item.key!r}: brand {str(brand)!r} is not "
                                          f"one of the company's brands: {choices}"))
    return problems


def check_folders(items: Iterable[Resource], read_folders: Callable[[], Mapping[str, int]]) -> list[Problem]:
    """Folders named by ``items`` that the company lacks (``read_folders()`` is called only if needed)."""
    wanted = [item for item in items if item.attrs.get("folder")]
    if not wanted:
        return []
    folders = read_folders()
    choices = ", ".join(sorted(n for n in folders if n)) or "none"
    return [problem(item, f"{item.type} {item.key!r}: folder {item.attrs['folder']!r} does not "
                          f"exist (folders: {choices}); create it in the 82830 portal")
            for item in wanted if item.attrs["folder"] not in folders]


def check_lost_state(
    campaigns: Mapping[str, Resource], live: LiveState, recorded: frozenset[str] | None
) -> list[Problem]:
    """Warn when no campaign is in state although their phone lists exist: a lost state file?

    SMSConnector cannot list campaigns, so the tool cannot see one an earlier apply created;
    creating it again would send twice.
    """
    if not campaigns or recorded is None or recorded:
        return []
    existing = {item.key for item in live.get("phone_lists") or ()}
    problems = []
    for item in campaigns.values():
        targets = set(get_path(item.attrs, "to.phone_lists") or ())
        if targets and targets <= existing:
            problems.append(problem(item, (
                f"campaign {item.key!r} is not in the state file, yet its phone lists already exist "
                "in SMSConnector; SMSConnector cannot list campaigns, so if an earlier apply created it "
                "and the state file was lost, applying creates a second campaign: restore the state "
                "file, or stop the old campaign in the 82830 portal before applying"), "warning"))
    return problems


def opted_out(client: SmsConnectorClient, region: str) -> dict[str, str]:
    """Numbers currently opted out (E.164) -> date of their last STOP ('' when undated).

    The latest event wins. Bare strings (no dates) are accepted: then a START anywhere wins,
    because a START only means something after a STOP.
    """
    latest: list[dict[str, tuple[datetime | None, str]]] = [{}, {}]  # [stops, starts]
    for index, items in enumerate((client.stops(), client.reinstates())):
        for item in items:
            raw = item.get("PhoneNumber") if isinstance(item, Mapping) else item
            when = str(item.get("Date") or "") if isinstance(item, Mapping) else ""
            try:
                number = number_from_api(str(raw), region)
            except InvalidNumber:
                continue
            at = event_time(when)
            seen = latest[index].get(number)
            if seen is None or (at is not None and (seen[0] is None or at >= seen[0])):
                latest[index][number] = (at, when)
    stops, starts = latest
    opted = {}
    for number, (at, when) in stops.items():
        started = starts.get(number)
        if started is None or (at is not None and started[0] is not None and at > started[0]):
            opted[number] = when
    return opted
