"""The planner: desired + live + state -> Plan. A pure function: no network, no clock, no I/O.

Items are paired by key in one walk over both sides (:mod:`reconciler.pairing`, linear in the
number of items); :mod:`reconciler.compare` tells an unchanged item without building anything,
and DeepDiff computes the field-level diff only for the few items already known to differ.
Capabilities decide the action: a change the provider cannot make in place becomes ``replace``
when it can delete and create, else ``unsupported`` with the provider's reason. Undeclared live
items are deleted only for pruned types and for tracked types (recorded in state: the tool created
them); others are ``unmanaged`` warnings. Unkeyed live items of tracked types may be adopted
(:mod:`reconciler.adopt`).
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from reconciler.adopt import adopt
from reconciler.changes import Action, Change
from reconciler.compare import changed_paths, compared, subset, unchanged
from reconciler.errors import Problem
from reconciler.model import Resource, SubItems, expand_sub_resources, project
from reconciler.pairing import Pairing
from reconciler.plan import Adoption, Fingerprints, Plan, Warning_
from reconciler.providers.base import Capability
from reconciler.types import APPLY_ORDER, TYPES, ResourceType, in_scope

Items = Mapping[str, Resource]
StateRecords = Mapping[str, Mapping[str, Mapping[str, Any]]]  # type -> key -> {"id", "attrs"}
Refine = Callable[[Change, Resource | None, datetime], Change | Problem]
Expand = Callable[[ResourceType, str, Items], Items]


def _keep(change: Change, live: Resource | None, now: datetime) -> Change | Problem:
    return change


@dataclass(frozen=True)
class Target:
    """What the planner knows of one account: its provider's capabilities and the user's prune list."""

    account: str
    provider: str
    capabilities: Mapping[str, Capability]
    prune: frozenset[str] = frozenset()
    refine: Refine = _keep
    types: frozenset[str] | None = None  # narrowed by --type; None = every supported type
    expand: Expand = expand_sub_resources  # the provider's sub-resource hook (pure)


@dataclass
class _Collector:
    changes: list[Change] = field(default_factory=list)
    warnings: list[Warning_] = field(default_factory=list)
    adoptions: list[Adoption] = field(default_factory=list)
    errors: list[Problem] = field(default_factory=list)
    intents: dict[tuple[str, str, str], Mapping[str, Any]] = field(default_factory=dict)

    def warn(self, account: str, type_: str, key: str, message: str, code: str = "") -> None:
        self.warnings.append(Warning_(account, type_, key, message, code))


def diff(
    desired: Mapping[tuple[str, str], Items],
    live: Mapping[tuple[str, str], Items],
    state: Mapping[str, StateRecords],
    targets: Iterable[Target],
    now: datetime,
    errors: Iterable[Problem] = (),
    created_at: str = "",
    intents: Iterable[Mapping[str, Any]] = (),
    fingerprints: Fingerprints | None = None,
) -> Plan:
    """Plan the minimal change set that makes ``live`` match ``desired`` for every target.

    ``desired`` maps (account, type) -> key -> Resource (normalized, as loaded). ``live`` holds the
    listable types read from the providers, same shape; tracked items not bound to a state key are
    keyed ``"#<id>"``. ``state`` maps account -> type -> key -> ``{"id", "attrs"}``. Nothing passed
    in is mutated. ``errors`` are plan-time problems carried into the plan. ``intents`` are creates
    an earlier apply sent without recording the result (see :mod:`reconciler.state`).
    ``fingerprints`` are carried into the plan as they are (the caller computes them).
    """
    out = _Collector()
    out.intents = {(i["account"], i["type"], i["key"]): i for i in intents}
    for target in targets:
        _plan_account(target, desired, live, state.get(target.account, {}), now, out)
    changes = sorted(out.changes, key=_order)
    plan_errors = tuple(e for e in errors if e.severity == "error") + tuple(out.errors)
    warnings = [Warning_("", "", "", str(e)) for e in errors if e.severity != "error"]
    return Plan(
        changes=tuple(changes),
        warnings=tuple(warnings + out.warnings),
        errors=plan_errors,
        created_at=created_at,
        adoptions=tuple(out.adoptions),
        fingerprints=fingerprints,
    )


def _types_of(target: Target) -> list[str]:
    return [t for t in APPLY_ORDER if t in target.capabilities and in_scope(t, target.types)]


def _plan_account(
    target: Target,
    desired: Mapping[tuple[str, str], Items],
    live: Mapping[tuple[str, str], Items],
    state: StateRecords,
    now: datetime,
    out: _Collector,
) -> None:
    account = target.account
    types = _types_of(target)
    wanted: dict[str, Items] = {t: desired.get((account, t), {}) for t in types}
    have: dict[str, Items] = {}
    for type_ in types:
        cap = target.capabilities[type_]
        if cap.list.ok:
            have[type_] = live.get((account, type_), {})
        else:
            have[type_] = _from_state(account, type_, state.get(type_, {}))
            if TYPES[type_].user and (wanted[type_] or have[type_]):
                out.warn(
                    account,
                    type_,
                    "",
                    f"{target.provider} cannot list {type_}: {cap.list.reason}. "
                    "The plan compares with the last applied attributes in the state file.",
                    code="unlistable",
                )
    subs = [TYPES[t] for t in types if TYPES[t].sub is not None]
    # Per type, the attributes left out of the comparison: the derived ones, and a parent's field
    # that declares sub-items (planned as items of their own, never as the parent's attribute).
    omitted = {t: target.capabilities[t].derived_fields for t in types}
    # Per sub-resource type, whether a live sub-item belongs to a parent that does not declare the
    # field: such items are not managed (asked only of live items the parents do not declare).
    outside_of: dict[str, Callable[[Resource], bool]] = {}
    for sub in subs:
        relation = sub.sub
        assert relation is not None
        # The parents' field declares the sub-items, also under --type <sub> alone.
        parents = wanted.get(relation.parent, desired.get((account, relation.parent), {}))
        wanted[sub.name] = target.expand(sub, account, parents)
        if relation.parent in omitted:
            omitted[relation.parent] = omitted[relation.parent] | {relation.field}
        outside_of[sub.name] = _undeclared_by(parents, relation.parent_attr, relation.field)
    for type_ in types:
        cap = target.capabilities[type_]
        records = state.get(type_, {})
        items, outside = have[type_], outside_of.get(type_)
        if cap.tracked and cap.list.ok:
            if outside is not None:
                items = {k: item for k, item in items.items() if not outside(item)}
            items, adopted, notes = adopt(account, type_, cap.adopt_by, wanted[type_], items)
            out.adoptions += adopted
            out.warnings += notes
        _plan_type(target, type_, cap, wanted[type_], items, records, now, out, omitted[type_], outside)
    for sub in subs:
        _cascade(account, sub, out)


def _undeclared_by(parents: Items, parent_attr: str, field: str) -> Callable[[Resource], bool]:
    def outside(item: Resource) -> bool:
        key = item.attrs.get(parent_attr)
        parent = parents.get(key) if isinstance(key, str) else None
        return parent is None or field not in parent.attrs

    return outside


def _cascade(account: str, sub: ResourceType, out: _Collector) -> None:
    """Deleting an item drops the sub-items that name it; don't also delete them one by one."""
    relation = sub.sub
    assert relation is not None
    deleted = {
        c.key
        for c in out.changes
        if c.account == account and c.type == relation.cascade and c.action is Action.DELETE
    }
    if not deleted:
        return
    out.changes[:] = [
        c
        for c in out.changes
        if not (
            c.account == account
            and c.type == sub.name
            and c.action is Action.DELETE
            and (c.before or {}).get(relation.name_attr) in deleted
        )
    ]


def _from_state(account: str, type_: str, records: Mapping[str, Mapping[str, Any]]) -> dict[str, Resource]:
    return {
        key: Resource(account, type_, key, rec.get("attrs") or {}, ident=rec.get("id"))
        for key, rec in records.items()
    }


def _plan_type(
    target: Target,
    type_: str,
    cap: Capability,
    wanted: Items,
    items: Items,
    records: Mapping[str, Mapping[str, Any]],
    now: datetime,
    out: _Collector,
    omitted: Collection[str],
    outside: Callable[[Resource], bool] | None = None,
) -> None:
    """Plan one type: pair ``wanted`` with the live ``items`` (:mod:`reconciler.pairing`), then
    handle the live items nothing declares. ``outside`` tells which of those are not this plan's
    to manage (the sub-items of parents that do not declare them)."""
    account = target.account
    intents = out.intents if not cap.list.ok else {}
    pairs: Iterable[tuple[str, Resource, Resource | None]]
    if isinstance(wanted, SubItems) and not intents:
        pairing: Pairing[Any] = Pairing(wanted.entries(), items, wanted.declares)
        # Sub-items found live are unchanged (a sub-item is its key): only the missing are built.
        pairs = ((key, wanted.item(key, parent), None) for key, parent, found in pairing if found is None)
    else:
        keys = wanted.keys()
        pairing = pairs = Pairing(wanted.items(), items, lambda key, _: key in keys)
    for key, want, current in pairs:
        if current is not None and not intents and unchanged(current.attrs, want.attrs, omitted):
            continue  # the common case, decided without building the compared and projected dicts
        declared = compared(want.attrs, omitted)
        intent = intents.get((account, type_, key)) if intents else None
        if intent is not None and not cap.list.ok:
            _emit(
                target, _uncertain(account, type_, key, declared, target.provider, intent), current, now, out
            )
            continue
        if current is None:
            if cap.tracked and cap.list.ok and key in records:
                out.warn(
                    account,
                    type_,
                    key,
                    "recorded in state but gone from the provider "
                    "(deleted outside reconciler); it will be created again",
                )
            change = (
                Change(account, type_, key, Action.CREATE, None, declared)
                if cap.create.ok
                else Change(account, type_, key, Action.UNSUPPORTED, None, declared, reason=cap.create.reason)
            )
            _emit(target, change, None, now, out)
            continue
        seen = project(current.attrs, declared)
        if seen == declared:
            continue
        for change in _changes_for(account, type_, key, cap, declared, current, seen):
            _emit(target, change, current, now, out)
    for key, current in pairing.undeclared:
        if outside is not None and outside(current):
            continue
        managed = (cap.tracked and key in records) or type_ in target.prune or TYPES[type_].sub is not None
        if not managed:
            out.warn(
                account,
                type_,
                key,
                "unmanaged: exists live but is not declared "
                f"(declare it, or add {type_} to the account's prune list to delete it)",
                code="unmanaged",
            )
            continue
        before = compared(current.attrs, cap.derived_fields)
        if cap.delete.ok:
            change = Change(
                account,
                type_,
                key,
                Action.DELETE,
                before,
                None,
                ident=current.ident,
                reason=cap.delete.reason,
            )
        else:
            change = Change(
                account,
                type_,
                key,
                Action.UNSUPPORTED,
                before,
                None,
                ident=current.ident,
                reason=f"cannot delete: {cap.delete.reason}",
            )
        _emit(target, change, current, now, out)


def _uncertain(
    account: str, type_: str, key: str, declared: dict[str, Any], provider: str, intent: Mapping[str, Any]
) -> Change:
    """A create that may have happened: the provider can't list the type, so the tool can't tell."""
    address = f"{account}/{type_}/{key}"
    reason = (
        f"uncertain: an apply sent this {intent.get('action', 'create')} at {intent.get('at', '?')} but "
        f"stopped before recording the answer, and {provider} cannot list {type_}. Check the provider's "
        f"UI: if it exists, run `reconciler state import {address} ID`; if not, run "
        f"`reconciler state rm {address}` and apply again"
    )
    return Change(account, type_, key, Action.UNSUPPORTED, None, declared, reason=reason)


def _changes_for(
    account: str,
    type_: str,
    key: str,
    cap: Capability,
    declared: dict[str, Any],
    current: Resource,
    seen: dict[str, Any],
) -> list[Change]:
    paths = changed_paths(seen, declared)
    changes: list[Change] = []
    wanted_attrs = dict(declared)
    for name in sorted(cap.append_only_fields):
        if name not in paths:
            continue
        have = set(seen.get(name) or ())
        want = set(declared.get(name) or ())
        removed = sorted(have - want)
        if removed:
            changes.append(
                Change(
                    account,
                    type_,
                    key,
                    Action.UNSUPPORTED,
                    {name: removed},
                    None,
                    (name,),
                    ident=current.ident,
                    reason=f"cannot remove from {name}: {cap.delete.reason or 'append-only'}",
                )
            )
            wanted_attrs[name] = sorted(have | want)
            if have >= want:
                paths = [p for p in paths if p != name]
    if not paths:
        return changes
    before, after = subset(seen, paths), subset(wanted_attrs, paths)
    immutable = [p for p in paths if p in cap.immutable_fields or p.split(".")[0] in cap.immutable_fields]
    if cap.update.ok and not immutable:
        action, reason = Action.UPDATE, ""
    elif cap.can_replace.ok:
        action = Action.REPLACE
        why = f"{', '.join(immutable)} cannot change in place" if immutable else cap.update.reason
        reason = f"{why}; {cap.can_replace.reason}" if cap.can_replace.reason else why
    else:
        action, reason = Action.UNSUPPORTED, cap.update.reason or cap.can_replace.reason
    if action is Action.REPLACE:
        before = compared(current.attrs, cap.derived_fields)
        after = wanted_attrs
    changes.insert(
        0,
        Change(
            account,
            type_,
            key,
            action,
            before,
            after,
            tuple(paths),
            ident=current.ident,
            reason=reason,
            desired=wanted_attrs,
        ),
    )
    return changes


def _emit(target: Target, change: Change, live: Resource | None, now: datetime, out: _Collector) -> None:
    refined = target.refine(change, live, now) if change.action is not Action.UNSUPPORTED else change
    if isinstance(refined, Problem):
        if refined.severity == "error":
            out.errors.append(Problem(f"{change.address}: {refined.message}"))
        else:
            out.warn(change.account, change.type, change.key, refined.message)
        return
    cap = target.capabilities[refined.type]
    if refined.action is Action.DELETE and cap.delete_warning:
        out.warn(refined.account, refined.type, refined.key, cap.delete_warning)
    out.changes.append(refined)


_ACTION_RANK = {
    Action.DELETE: 0,
    Action.REPLACE: 1,
    Action.UPDATE: 2,
    Action.CREATE: 3,
    Action.UNSUPPORTED: 4,
}


def _order(change: Change) -> tuple[Any, ...]:
    """Apply order: detach sub-resources, then creates/updates in dependency order, then deletes reversed."""
    index = APPLY_ORDER.index(change.type) if change.type in APPLY_ORDER else len(APPLY_ORDER)
    record = TYPES.get(change.type)
    if change.action is Action.DELETE and record is not None and record.sub is not None:
        phase, rank = 0, index
    elif change.action is Action.DELETE:
        phase, rank = 2, len(APPLY_ORDER) - index
    else:
        phase, rank = 1, index
    return (change.account, phase, rank, _ACTION_RANK[change.action], change.key)
