"""`reconciler export`: live state -> resource files, to adopt an existing account.

The output declares exactly what the account holds, so a plan right after adopting it is empty
(apart from what the provider cannot list, which comes from the state file).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

import yaml

from reconciler.model import Resource
from reconciler.providers.base import Capability
from reconciler.types import TYPES, USER_TYPES


def _strip(attrs: Mapping[str, Any], cap: Capability) -> dict[str, Any]:
    return {k: v for k, v in attrs.items() if k not in cap.derived_fields and v not in (None, "", [], {})}


def export_account(
    account: str,
    capabilities: Mapping[str, Capability],
    live: Mapping[str, Iterable[Resource]],
    state: Mapping[str, Mapping[str, Any]],
    types: Iterable[str] | None = None,
) -> str:
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
                    attrs = {
                        "name": item.key if not item.key.startswith("#") else f"{type_}-{item.ident}",
                        **attrs,
                    }
                rows.append(attrs)
        else:
            rows = [
                _strip(record.get("attrs") or {}, cap) for _, record in sorted(state.get(type_, {}).items())
            ]
        if rows:
            doc[type_] = rows
    text: str = yaml.safe_dump(doc, sort_keys=False, allow_unicode=True, default_flow_style=None, width=100)
    return text
