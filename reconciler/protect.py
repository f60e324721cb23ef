"""Protection: items no plan may delete or replace, recorded in state so it outlives the YAML.

An item declared with ``protect: true`` is recorded as protected (``"protect": true`` on its state
record) by the next apply that finds it existing. From then on every plan that would delete or
replace it carries an error, also when the item and its ``protect`` line were removed from the
YAML in the same change (Terraform's ``prevent_destroy`` is lost with the resource block; this is
not). The protection is lifted only by applying the item with ``protect: false`` or by
``reconciler state unprotect ADDRESS``. ``--force`` does not override it.

Items of types the provider does not track have no state record of their own; protecting one
gives it a record holding only its id and the flag (the planner never reads records of untracked
types), removed again when the protection is lifted.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Collection, Iterable, Mapping
from dataclasses import dataclass

from reconciler.changes import Action, Change
from reconciler.config.types import Config
from reconciler.errors import Problem
from reconciler.model import Resource
from reconciler.plan import Plan
from reconciler.providers.base import provider_info
from reconciler.state import State

Address = tuple[str, str, str]  # (account, type, key)
RECORDED = "recorded in the state"
DECLARED = "declared protect: true"


def protected(config: Config, state: State, accounts: Iterable[str]) -> dict[Address, str]:
    """The protected items of ``accounts``, each with why: recorded in state, or declared and not yet
    applied (a declared ``protect: false`` lifts nothing until it is applied)."""
    scope = set(accounts)
    out: dict[Address, str] = {}
    for account in sorted(scope):
        for type_, records in state.account(account).items():
            for key in records:
                if state.is_protected(account, type_, key):
                    out[(account, type_, key)] = RECORDED
    for address, on in config.protect.items():
        if on and address[0] in scope:
            out.setdefault(address, DECLARED)
    return out


def refusals(plan: Plan, guarded: Mapping[Address, str]) -> list[Problem]:
    """One error per change of ``plan`` that deletes or replaces a protected item."""
    out = []
    for change in plan.changes:
        if change.action not in (Action.DELETE, Action.REPLACE):
            continue
        why = guarded.get((change.account, change.type, change.key))
        if why is None:
            continue
        verb = "delete" if change.action is Action.DELETE else "replace"
        if why == DECLARED:
            fix = "remove protect: true from it first"
        else:
            fix = f"apply it with protect: false first, or run `reconciler state unprotect {change.address}`"
        out.append(Problem(f"{change.address} is protected ({why}), so the plan may not {verb} it ({fix})"))
    return out


def guard(plan: Plan, guarded: Mapping[Address, str]) -> Plan:
    """``plan`` with an error added for each change that deletes or replaces a protected item."""
    found = refusals(plan, guarded)
    return dataclasses.replace(plan, errors=plan.errors + tuple(found)) if found else plan


@dataclass(frozen=True)
class Synced:
    """What :func:`sync` changed in the state: addresses newly protected and unprotected."""

    protected: tuple[Address, ...] = ()
    unprotected: tuple[Address, ...] = ()


def tracked(config: Config, account: str, type_: str) -> bool:
    """Whether the account's provider keeps records of ``type_`` (true when the account is gone)."""
    settings = config.accounts.get(account)
    if settings is None:
        return True  # unknown now: keep the record, only drop the flag
    capability = provider_info(settings.provider).capabilities.get(type_)
    return capability is None or capability.tracked


def sync(
    config: Config,
    state: State,
    live: Mapping[tuple[str, str], Mapping[str, Resource]],
    applied: Iterable[Change],
    accounts: Collection[str],
    types: Collection[str] | None = None,
) -> Synced:
    """After an apply: record the declared ``protect:`` of every existing item in scope.

    An item exists when it has a state record, was in ``live`` (read before the apply) or was
    created by a change in ``applied``. A tracked item without a record is left for the next apply
    (its create failed); it is never given a record without the provider's id.
    """
    made = {(c.account, c.type, c.key) for c in applied if c.action is not Action.DELETE}
    added: list[Address] = []
    lifted: list[Address] = []
    for (account, type_, key), on in sorted(config.protect.items()):
        if account not in accounts or (types is not None and type_ not in types):
            continue
        recorded = key in state.account(account).get(type_, {})
        is_tracked = tracked(config, account, type_)
        if on and not state.is_protected(account, type_, key):
            item = live.get((account, type_), {}).get(key)
            exists = recorded or item is not None or (account, type_, key) in made
            if exists and (recorded or not is_tracked):
                state.protect(account, type_, key, item.ident if item is not None else None)
                added.append((account, type_, key))
        elif not on and state.is_protected(account, type_, key):
            lift(state, account, type_, key, tracked=is_tracked)
            lifted.append((account, type_, key))
    return Synced(tuple(added), tuple(lifted))


def lift(state: State, account: str, type_: str, key: str, *, tracked: bool) -> None:
    """Drop one item's protection: the flag of a tracked item's record, an untracked item's record."""
    if tracked:
        state.unprotect(account, type_, key)
    else:
        state.forget(account, type_, key)
