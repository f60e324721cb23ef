"""`reconciler export`: live state -> resource files, to adopt an existing account.

The output declares exactly what the account holds, so a plan right after adopting it is empty
(apart from what the provider cannot list, which comes from the state file). What the export
could not read back (a type the provider cannot list, with nothing recorded in the state) and the
names it had to invent (a live reminder with no name of ours) are returned as notes, and written
as comments at the top of the file, so nothing is dropped or made up silently.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

import yaml

from reconciler.model import Resource
from reconciler.providers.base import Capability
from reconciler.types import TYPES, USER_TYPES

_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f\u2028\u2029]")


@dataclass(frozen=True)
class Export:
    """The resource-file YAML of one account and the notes about what it leaves out or invents."""

    text: str
    notes: tuple[str, ...] = ()


def _strip(attrs: Mapping[str, Any], cap: Capability) -> dict[str, Any]:
    return {k: v for k, v in attrs.items() if k not in cap.derived_fields and v not in (None, "", [], {})}


def export_account(
    account: str,
    capabilities: Mapping[str, Capability],
    live: Mapping[str, Iterable[Resource]],
    state: Mapping[str, Mapping[str, Any]],
    types: Iterable[str] | None = None,
    *,
    provider: str = "the provider",
) -> Export:
    """Resource-file YAML for one account from its live items (and state for unlistable types)."""
    wanted = set(types) if types else set(USER_TYPES)
    doc: dict[str, Any] = {"account": account}
    # Sub-resources fold back into their parent's field: parent type -> field -> parent key -> names.
    folded: dict[str, dict[str, dict[str, list[str]]]] = {}
    for type_ in capabilities:
        relation = TYPES[type_].sub if type_ in TYPES else None
        if relation is None:
            continue
        fields = folded.setdefault(relation.parent, {}).setdefault(relation.field, {})
        for item in live.get(type_, ()):
            fields.setdefault(item.attrs[relation.parent_attr], []).append(item.attrs[relation.name_attr])
    notes: list[str] = []
    invented: dict[str, list[str]] = {}
    for type_ in USER_TYPES:
        if type_ not in capabilities or type_ not in wanted:
            continue
        cap = capabilities[type_]
        if cap.list.ok:
            items = sorted(live.get(type_, ()), key=lambda r: r.key)
            rows = []
            for item in items:
                attrs = _strip(item.attrs, cap)
                for name, by_parent in folded.get(type_, {}).items():
                    attrs[name] = sorted(by_parent.get(item.key, []))
                if cap.tracked and "name" in cap.fields:
                    name = item.key
                    if item.key.startswith("#"):  # a live item with no name of ours
                        name = f"{type_}-{item.ident}"
                        invented.setdefault(type_, []).append(name)
                    attrs = {"name": name, **attrs}
                rows.append(attrs)
        else:
            records = sorted(state.get(type_, {}).items())
            rows = [_strip(record.get("attrs") or {}, cap) for _, record in records]
            reason = cap.list.reason or "no list call"
            if rows:
                notes.append(
                    f"{type_}: {provider} cannot list them ({reason}); exported the {len(rows)} recorded "
                    "in the state file only: others may exist in the account"
                )
            else:
                notes.append(
                    f"{type_}: not exported: {provider} cannot list them ({reason}) and the state file "
                    f"records none; declare them by hand (then `reconciler state import` for existing ones)"
                )
        if rows:
            doc[type_] = rows
    for type_, names in invented.items():
        shown = ", ".join(names[:5]) + (f" and {len(names) - 5} more" if len(names) > 5 else "")
        notes.append(
            f"{type_}: invented names for {len(names)} item(s) that have none of ours ({shown}); "
            "rename them as you like before the first apply"
        )
    body: str = yaml.safe_dump(doc, sort_keys=False, allow_unicode=True, default_flow_style=None, width=100)
    # A provider's id or a reason could hold a newline: a comment must stay one line.
    header = "".join(f"# Note: {_CONTROL.sub('?', note)}\n" for note in notes)
    return Export(header + body, tuple(notes))
