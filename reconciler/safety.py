"""octoDNS-style safety limits: refuse an apply that touches too large a share of live items."""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping

from reconciler.changes import Action
from reconciler.config.types import Safety
from reconciler.plan import Plan


def violations(plan: Plan, live_counts: Mapping[tuple[str, str], int], safety: Safety) -> list[str]:
    """One message per (account, type) whose updates or deletes exceed the configured share.

    Types with fewer than ``safety.min_existing`` live items are exempt, as in octoDNS.
    """
    updates: Counter[tuple[str, str]] = Counter()
    deletes: Counter[tuple[str, str]] = Counter()
    for change in plan.changes:
        where = (change.account, change.type)
        if change.action in (Action.UPDATE, Action.REPLACE):
            updates[where] += 1
        elif change.action is Action.DELETE:
            deletes[where] += 1
    out = []
    for label, counts, limit in (
        ("update", updates, safety.max_update_percent),
        ("delete", deletes, safety.max_delete_percent),
    ):
        for (account, type_), n in sorted(counts.items()):
            existing = live_counts.get((account, type_), 0)
            if existing < safety.min_existing:
                continue
            share = 100.0 * n / existing
            if share > limit:
                out.append(
                    f"{account}/{type_}: the plan would {label} {n} of {existing} live items "
                    f"({share:.0f}% > max_{label}_percent {limit:g}%); review it, then rerun with --force"
                )
    return out
