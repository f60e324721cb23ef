"""Build the drift model from what the planner saw and said: pure, no I/O.

The planner decides what differs (only declared attributes are compared, derived fields and
ignored items are left out, memberships follow their contacts); this module re-reads its output
per account and type:

- an update, replace or unsupported change with both sides is a *changed* item whose fields name
  the live value (the change's ``before``) and the declared one (its ``after``);
- a create (or an unsupported one) is a declared item *missing* live;
- a delete is an *extra* live item that `apply` removes (pruned type or created by the tool);
- an unmanaged warning is an *unmanaged* live item, shown with its live attributes.

A type the provider cannot list is *not auditable*: its changes compare the config with the state
file (changes not applied yet), not with the live account, so they are summarised, not listed. A
type whose read failed is *failed*, and whatever the planner said about it is disregarded.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import replace
from typing import Any

from reconciler.changes import Action, Change
from reconciler.drift.model import KINDS, Cell, DriftReport, FailOn, FieldDiff, Item, Kind, Status
from reconciler.model import Resource, get_path
from reconciler.plan import Plan, Warning_
from reconciler.planner import Target
from reconciler.types import APPLY_ORDER, TYPES, in_scope

Where = tuple[str, str]


def audited_types(target: Target) -> list[str]:
    """The types of ``target`` a drift audit reports on, in apply order (``--type`` honoured)."""
    return [t for t in APPLY_ORDER if t in target.capabilities and in_scope(t, target.types)]


def build_report(
    plan: Plan,
    targets: Iterable[Target],
    *,
    live: Mapping[Where, Mapping[str, Resource]],
    desired: Mapping[Where, Mapping[str, Resource]],
    state: Mapping[str, Mapping[str, Mapping[str, Any]]],
    failures: Mapping[Where, str],
    checked_at: str,
    revision: str = "",
    fail_on: frozenset[FailOn] | None = None,
) -> DriftReport:
    """The drift report of one audit.

    ``plan`` is the planner's answer for ``targets``; ``live`` the items read (failed reads
    absent), ``desired`` the loaded config, ``state`` account -> type -> key -> record, and
    ``failures`` the reads that failed with their reason. Nothing passed in is mutated.
    """
    targets = sorted(targets, key=lambda t: t.account)
    scope = {(t.account, type_) for t in targets for type_ in audited_types(t)}
    items: dict[tuple[str, str, str], Item] = {}
    for change in plan.changes:
        where = (change.account, change.type)
        if where in scope and where not in failures and _listable(targets, where):
            _merge(items, _item_of(change))
    stray: list[str] = []
    for warning in plan.warnings:
        where = (warning.account, warning.type)
        if where in failures:
            continue
        if warning.code == "unmanaged" and where in scope:
            found = live.get(where, {}).get(warning.key)
            attrs = dict(found.attrs) if found is not None else None
            _merge(items, Item(warning.account, warning.type, warning.key, Kind.UNMANAGED, live=attrs))
        elif warning.code == "unlistable":
            continue  # the cell says it
        elif warning.key and (warning.account, warning.type, warning.key) in items:
            key = (warning.account, warning.type, warning.key)
            old = items[key]
            items[key] = replace(old, notes=(*old.notes, warning.message))
        else:
            stray.append(_warning_text(warning))
    cells = [
        _cell(target, type_, items, live, desired, state, failures, plan)
        for target in targets
        for type_ in audited_types(target)
    ]
    listed = [items[k] for k in sorted(items, key=_item_order)]
    return DriftReport(
        checked_at=checked_at,
        revision=revision,
        cells=tuple(cells),
        items=tuple(listed),
        errors=tuple(str(e) for e in plan.errors),
        warnings=tuple(stray),
        **({"fail_on": fail_on} if fail_on is not None else {}),
    )


def _listable(targets: Iterable[Target], where: Where) -> bool:
    for target in targets:
        if target.account == where[0]:
            cap = target.capabilities.get(where[1])
            return cap is not None and cap.list.ok
    return False


def _item_order(key: tuple[str, str, str]) -> tuple[str, int, str]:
    account, type_, item = key
    return (account, APPLY_ORDER.index(type_) if type_ in APPLY_ORDER else len(APPLY_ORDER), item)


def _warning_text(warning: Warning_) -> str:
    address = "/".join(p for p in (warning.account, warning.type, warning.key) if p)
    return f"{address}: {warning.message}" if address else warning.message


def _value(attrs: Mapping[str, Any] | None, path: str) -> Any:
    """The value at ``path`` (a literal dotted member first, else nested); None when absent."""
    if attrs is None:
        return None
    if path in attrs:
        return attrs[path]
    return get_path(attrs, path)


def _item_of(change: Change) -> Item:
    fixable = change.action is not Action.UNSUPPORTED
    notes = (change.reason,) if change.reason else ()
    common: dict[str, Any] = {"notes": notes, "fixable": fixable}
    if change.fields or (change.before is not None and change.after is not None):
        paths = change.fields or tuple(sorted(set(change.before or {}) | set(change.after or {})))
        if change.after is None:  # an append-only list holds elements the YAML dropped
            fields = tuple(FieldDiff(p, _value(change.before, p), None) for p in paths)
        else:
            fields = tuple(FieldDiff(p, _value(change.before, p), _value(change.after, p)) for p in paths)
        return Item(change.account, change.type, change.key, Kind.CHANGED, fields, **common)
    if change.after is not None:
        return Item(change.account, change.type, change.key, Kind.MISSING, declared=change.after, **common)
    return Item(change.account, change.type, change.key, Kind.EXTRA, live=change.before, **common)


def _merge(items: dict[tuple[str, str, str], Item], item: Item) -> None:
    """One item per key: a second change of the same key adds its fields and notes."""
    key = (item.account, item.type, item.key)
    old = items.get(key)
    if old is None:
        items[key] = item
        return
    fields = old.fields + tuple(f for f in item.fields if f not in old.fields)
    notes = old.notes + tuple(n for n in item.notes if n not in old.notes)
    kind = Kind.CHANGED if Kind.CHANGED in (old.kind, item.kind) else old.kind
    items[key] = Item(
        old.account,
        old.type,
        old.key,
        kind,
        fields,
        old.live or item.live,
        old.declared or item.declared,
        notes,
        old.fixable and item.fixable,
    )


def _cell(
    target: Target,
    type_: str,
    items: Mapping[tuple[str, str, str], Item],
    live: Mapping[Where, Mapping[str, Resource]],
    desired: Mapping[Where, Mapping[str, Resource]],
    state: Mapping[str, Mapping[str, Mapping[str, Any]]],
    failures: Mapping[Where, str],
    plan: Plan,
) -> Cell:
    where = (target.account, type_)
    declared = _declared_count(desired, where)
    cap = target.capabilities[type_]
    base = Cell(target.account, type_, target.provider, Status.IN_SYNC, declared=declared)
    if where in failures:
        return replace(base, status=Status.FAILED, reason=failures[where])
    if not cap.list.ok:
        recorded = len(state.get(target.account, {}).get(type_, {}))
        pending = sum(1 for c in plan.changes if (c.account, c.type) == where)
        known = (
            f"{recorded} item(s) recorded in the state file by the last apply; "
            f"{pending} declared change(s) not applied yet"
        )
        return replace(base, status=Status.NOT_AUDITABLE, reason=cap.list.reason, known=known)
    counts = {kind.value: 0 for kind in KINDS}
    for (account, item_type, _), item in items.items():
        if (account, item_type) == where:
            counts[item.kind.value] += 1
    status = Status.DRIFTED if any(counts.values()) else Status.IN_SYNC
    return replace(base, status=status, counts=counts, live=len(live.get(where, {})))


def _declared_count(desired: Mapping[Where, Mapping[str, Resource]], where: Where) -> int:
    """Declared items of ``where``; a sub-resource counts the names its parents declare."""
    account, type_ = where
    record = TYPES.get(type_)
    if record is None or record.sub is None:
        return len(desired.get(where, {}))
    parents = desired.get((account, record.sub.parent), {}).values()
    return sum(len(p.attrs.get(record.sub.field) or ()) for p in parents)
