"""Drift notifications: a JSON summary posted to a webhook when the drift state changes.

The drift state is the set of account/types that fail the audit (``--fail-on``). A notification
goes out when that set differs from the one the last delivered notification described (kept in
the history file as ``alerted``): new drift, or drift resolved; not on every run. A read that
failed neither raises nor clears an alert (its cell keeps its last known state), and neither do
accounts left out with ``--account``. A notification that could not be delivered is tried again by
the next run, because ``alerted`` only moves on delivery.

The payload (documented in ``docs/drift.md``) has a ``text`` line, which incoming webhooks of chat
tools (Slack, Mattermost, Rocket.Chat, Microsoft Teams connectors) show as the message, and the
structured fields beside it for programs. It names accounts and types and counts items; it never
holds item keys, values or secrets.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

import requests

from reconciler import __version__
from reconciler.drift.model import KINDS, Cell, DriftReport, Kind, Status
from reconciler.errors import ReconcilerError
from reconciler.urls import check_url

TIMEOUT = (5.0, 10.0)  # connect, read seconds
PAYLOAD_VERSION = 1


@dataclass(frozen=True)
class Change:
    """How the failing set moved since the last notification; ``event`` is empty when it did not."""

    current: frozenset[str]
    new: tuple[str, ...]
    resolved: tuple[str, ...]

    @property
    def event(self) -> str:
        if not self.new and not self.resolved:
            return ""
        return "drift" if self.new else "resolved"


def compare(report: DriftReport, alerted: frozenset[str] | None) -> Change:
    """The failing set of ``report`` against the last notified one (``None``: never notified)."""
    previous = alerted or frozenset()
    known = {c.name for c in report.cells if c.status is not Status.FAILED}
    current = {c.name for c in report.failing}
    current |= {name for name in previous if name not in known}  # unknown now: keep as it was
    return Change(frozenset(current), tuple(sorted(current - previous)), tuple(sorted(previous - current)))


def _counts(cell: Cell) -> str:
    if cell.status is Status.NOT_AUDITABLE:
        return "not auditable"
    return ", ".join(f"{cell.counts[k.value]} {k.label}" for k in KINDS if cell.counts.get(k.value))


def _cell_json(cell: Cell) -> dict[str, Any]:
    return {
        "account": cell.account,
        "type": cell.type,
        "status": cell.status.value,
        "counts": {k.value: cell.counts.get(k.value, 0) for k in KINDS},
        **({"since": cell.since} if cell.since else {}),
    }


def _names(report: DriftReport, names: Iterable[str]) -> list[str]:
    by_name = {c.name: c for c in report.cells}
    out = []
    for name in names:
        cell = by_name.get(name)
        out.append(f"{name} ({_counts(cell)})" if cell is not None and _counts(cell) else name)
    return out


def payload(report: DriftReport, change: Change) -> dict[str, Any]:
    """The JSON body posted for ``change``."""
    by_name = {c.name: c for c in report.cells}
    parts = []
    if change.new:
        parts.append("new drift in " + "; ".join(_names(report, change.new)))
    if change.resolved:
        parts.append("resolved: " + ", ".join(change.resolved))
    remaining = len(change.current)
    parts.append(
        "all account/types are in sync again"
        if not remaining
        else f"{remaining} account/type{'s' if remaining != 1 else ''} drifted"
    )
    revision = f" at revision {report.revision}" if report.revision else ""
    text = f"reconciler drift{revision}: " + "; ".join(parts) + f" (checked {report.checked_at})."
    return {
        "text": text,
        "source": "reconciler",
        "version": PAYLOAD_VERSION,
        "event": change.event,
        "checked_at": report.checked_at,
        "revision": report.revision,
        "new": [_cell_json(by_name[n]) if n in by_name else {"name": n} for n in change.new],
        "resolved": list(change.resolved),
        "drifted": sorted(change.current),
        "failed": [c.name for c in report.cells if c.status is Status.FAILED],
        "totals": {k.value: report.totals[k.value] for k in Kind},
    }


def shown(url: str) -> str:
    """``url`` as it may appear in messages: scheme and host only (webhook paths hold tokens)."""
    parts = urlsplit(url)
    host = parts.hostname or "?"
    port = f":{parts.port}" if parts.port else ""
    return f"{parts.scheme}://{host}{port}/..."


def check_webhook(url: str) -> str:
    """``url`` if it may receive notifications (https, or http on loopback); raise ReconcilerError."""
    try:
        check_url(url, "--notify")
    except ReconcilerError:
        raise ReconcilerError(
            f"--notify: {shown(url)} is not an https URL (plain http is allowed on loopback only); "
            "use the https webhook URL your chat tool gives you"
        ) from None
    return url


def post(url: str, body: dict[str, Any]) -> str:
    """Post ``body`` as JSON to ``url``; return "" when delivered, else why not (one line)."""
    try:
        response = requests.post(
            url,
            json=body,
            timeout=TIMEOUT,
            allow_redirects=False,
            headers={"User-Agent": f"reconciler/{__version__}"},
        )
    except requests.RequestException as exc:
        return f"could not reach {shown(url)} ({exc.__class__.__name__})"
    with response:
        if 200 <= response.status_code < 300:
            return ""
        return f"{shown(url)} answered HTTP {response.status_code}"
