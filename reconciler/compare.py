"""How two items' attributes compare: what a plan compares, an unchanged item told without
building anything, and the dotted paths that differ (DeepDiff, for the few items that do).

Attributes are already normalized (:mod:`reconciler.model`), so equal values are ``==``; a
declared mapping is compared on the keys it declares (a live item may hold more).
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Mapping
from typing import Any

from reconciler.model import get_path


def changed_paths(old: Mapping[str, Any], new: Mapping[str, Any]) -> list[str]:
    """Dotted attribute paths that differ between two small attribute mappings (lists whole)."""
    from deepdiff import DeepDiff  # imported on first use: a plan without updates never needs it

    tree = DeepDiff(dict(old), dict(new), view="tree")
    paths: set[str] = set()
    for report in tree.values():
        for level in report:
            parts: list[str] = []
            for part in level.path(output_format="list"):
                if isinstance(part, int):
                    break
                parts.append(str(part))
            if parts:
                paths.add(".".join(parts))
    return sorted(paths)


def subset(attrs: Mapping[str, Any], paths: Iterable[str]) -> dict[str, Any]:
    """The values at the dotted ``paths`` of ``attrs``."""
    return {path: get_path(attrs, path) for path in paths}


def unchanged(live: Mapping[str, Any], wanted: Mapping[str, Any], omitted: Collection[str]) -> bool:
    """``project(live, declared) == declared`` for ``declared = compared(wanted, omitted)``, without
    building either dict: every compared attribute of ``wanted`` has its value in ``live``, nested
    mappings compared on the keys ``wanted`` declares."""
    for name, want in wanted.items():
        if name in omitted or name[:1] == "_":
            continue
        have = live.get(name)
        if have != want and not _same_nested(have, want):
            return False
    return True


def _same_nested(have: Any, want: Any) -> bool:
    """``project(have, want) == want`` for a declared mapping ``want`` (False for anything else)."""
    if type(want) is str or not (isinstance(want, Mapping) and isinstance(have, Mapping)):
        return False
    for name, value in want.items():
        found = have.get(name)
        if found != value and not _same_nested(found, value):
            return False
    return True


def compared(attrs: Mapping[str, Any], omitted: Collection[str]) -> dict[str, Any]:
    """The attributes a plan compares: all but the ``omitted`` ones (the derived fields, and a
    parent's field that declares sub-items) and internal ``_`` ones."""
    return {k: v for k, v in attrs.items() if k not in omitted and not k.startswith("_")}
