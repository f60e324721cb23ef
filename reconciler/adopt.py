"""Adoption: binding live items of a tracked type that no state key names to the desired items
they match.

A tracked type's live items are keyed by the state file (see :mod:`reconciler.state`); one whose
id the state lacks is keyed ``"#<id>"`` (the state was lost, or the item was made by hand). The
provider's ``adopt_by`` fields say what identifies such an item; the plan binds it to the desired
key with the same values and records its id, instead of creating a second one.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from reconciler.model import Resource, get_path
from reconciler.plan import Adoption, Warning_


def adopt(
    account: str,
    type_: str,
    adopt_by: tuple[str, ...],
    wanted: Mapping[str, Resource],
    items: Mapping[str, Resource],
) -> tuple[dict[str, Resource], list[Adoption], list[Warning_]]:
    """``items`` with the unkeyed ones ("#<id>") that match a desired item on ``adopt_by`` keyed
    as that item; the adoptions made, and a warning for each."""
    bound = dict(items)
    adopted: list[Adoption] = []
    notes: list[Warning_] = []
    loose = {k: r for k, r in items.items() if k.startswith("#")}
    if not loose or not adopt_by:
        return bound, adopted, notes
    index: dict[tuple[Any, ...], str] = {}
    for key, resource in loose.items():
        index.setdefault(tuple(_freeze(get_path(resource.attrs, p)) for p in adopt_by), key)
    for key, want in wanted.items():
        if key in bound:
            continue
        match = index.pop(tuple(_freeze(get_path(want.attrs, p)) for p in adopt_by), None)
        if match is None:
            continue
        resource = bound.pop(match)
        bound[key] = Resource(account, type_, key, resource.attrs, ident=resource.ident)
        adopted.append(Adoption(account, type_, key, str(resource.ident), dict(resource.attrs)))
        notes.append(
            Warning_(
                account,
                type_,
                key,
                f"adopted live item {resource.ident} (same {', '.join(adopt_by)}); "
                "its id will be recorded in the state file",
            )
        )
    return bound, adopted, notes


def _freeze(value: Any) -> Any:
    if isinstance(value, list):
        return tuple(value)
    if isinstance(value, dict):
        return tuple(sorted(value.items()))
    return value
