"""octoDNS-style safety limits: refuse an apply that touches too much of an account at once.

Per account and type, a plan may update (or replace) at most ``max_update_percent`` and delete at
most ``max_delete_percent`` of the live items, once there are ``min_existing`` of them, and delete
at most ``max_deletes`` items however many exist. Each setting resolves from the most specific
``safety:`` block (see :meth:`reconciler.config.types.Safety.limit`); a refusal names the numbers,
the type and the setting to change.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping

from reconciler.changes import Action
from reconciler.config.types import Safety
from reconciler.plan import Plan


def violations(plan: Plan, live_counts: Mapping[tuple[str, str], int], safety: Safety) -> list[str]:
    """One message per (account, type) and setting the plan exceeds; empty when within limits."""
    updates: Counter[tuple[str, str]] = Counter()
    deletes: Counter[tuple[str, str]] = Counter()
    for change in plan.changes:
        where = (change.account, change.type)
        if change.action in (Action.UPDATE, Action.REPLACE):
            updates[where] += 1
        elif change.action is Action.DELETE:
            deletes[where] += 1
    out = []
    for (account, type_), n in sorted(deletes.items()):
        limit = safety.limit(account, type_, "max_deletes")
        if limit.value is not None and n > limit.value:
            out.append(
                f"{account}/{type_}: the plan would delete {n} items (more than {limit.path} = "
                f"{limit.value:g}); review it, then rerun with --force or raise {limit.path}"
            )
    for label, counts in (("update", updates), ("delete", deletes)):
        for (account, type_), n in sorted(counts.items()):
            existing = live_counts.get((account, type_), 0)
            floor = safety.limit(account, type_, "min_existing")
            if floor.value is not None and existing < floor.value:
                continue
            limit = safety.limit(account, type_, f"max_{label}_percent")
            if limit.value is None or existing == 0:
                continue
            share = 100.0 * n / existing
            if share > limit.value:
                out.append(
                    f"{account}/{type_}: the plan would {label} {n} of {existing} live items "
                    f"({share:.0f}% > max_{label}_percent {limit.value:g}%, set by {limit.path}); "
                    f"review it, then rerun with --force or raise {limit.path}"
                )
    return out
