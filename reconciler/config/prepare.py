"""Work on declared items done ahead, by a parse worker, while the main process reads the accounts.

The per-item work of validation that depends on nothing but the item and its account
(normalization, the number and text findings) is the bulk of loading a big file. A parse worker
(:mod:`reconciler.config.workers`) does it for the later part of a big file's items while the main
process validates the earlier part; :class:`Ahead` hands the results to
:meth:`reconciler.config.validate.Resources._item` as validation reaches them. The results are
exactly what ``_item`` would compute (tests/unit/test_config_workers.py compares both).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from reconciler.config.accounts import Settings
from reconciler.config.schema import RESOURCES_SCHEMA, Steps, item_fields
from reconciler.config.strict import item_findings
from reconciler.config.workers import Later
from reconciler.model import InvalidValue, normalize_attrs
from reconciler.types import USER_TYPES

PROTECT = "protect"  # the declared field read apart from an item's attributes (reconciler.protect)


def plain_fields(allowed: frozenset[str], offered: frozenset[str]) -> frozenset[str]:
    """The fields an item of a type may hold to be taken as written: the schema allows them and
    the provider offers them (``protect`` and ``from_csv`` are read apart)."""
    return (allowed & offered) - {PROTECT, "from_csv"}


# An item's normalized attributes and its number and text findings, worked out ahead (see
# prepare_items); None where the item must be worked out in place.
Prepared = tuple[dict[str, Any], list[tuple[Steps, str, str]]] | None
WORKER_SHARE = 0.6  # of each list's items, the last ones, prepared by a parse worker


def split_points(value: Mapping[str, Any], share: float = WORKER_SHARE) -> dict[str, int]:
    """Per top-level list, the index from which a parse worker prepares the items: the main
    process validates the items before it while the worker prepares the rest."""
    return {
        type_: len(items) - int(len(items) * share)
        for type_, items in value.items()
        if type_ in USER_TYPES and isinstance(items, list)
    }


def prepare_items(
    value: Mapping[str, Any], settings: Settings, starts: Mapping[str, int]
) -> dict[str, list[Prepared]]:
    """The per-item work of :meth:`Resources._item` that depends on nothing but the item and its
    account (normalization, the number and text findings), for the usual items (only fields
    taken as written) of each list from ``starts[type]`` on. A parse worker
    (:mod:`reconciler.config.workers`) does it for a big file while the main process reads the
    live accounts and validates the items before; the results are the ones ``_item`` would get.
    """
    account = value.get("account")
    config = settings.accounts.get(account) if isinstance(account, str) else None
    info = settings.infos.get(account) if isinstance(account, str) else None
    if config is None or info is None:
        return {}
    fields = item_fields(RESOURCES_SCHEMA)
    out: dict[str, list[Prepared]] = {}
    for type_, start in starts.items():
        items = value.get(type_)
        if type_ not in info.capabilities or not isinstance(items, list):
            continue
        plain = plain_fields(fields.get(type_, frozenset()), info.capabilities[type_].fields)
        prepared: list[Prepared] = []
        for raw in items[start:]:
            if type(raw) is not dict or not raw.keys() <= plain:
                prepared.append(None)
                continue
            try:
                normal = normalize_attrs(type_, raw, config.region, info.timezone)
            except InvalidValue:
                prepared.append(None)  # _item reports every unreadable value
                continue
            prepared.append((normal, item_findings(type_, raw, config.region, config.number_validity)))
        out[type_] = prepared
    return out


class Ahead:
    """The items of one document that a parse worker prepares, arriving while they are needed."""

    def __init__(self, starts: Mapping[str, int] | None = None, later: Later | None = None) -> None:
        self.starts = starts or {}
        self._later = later
        self._items: dict[str, list[Prepared]] | None = None

    def get(self, type_: str, index: int) -> Prepared:
        """The prepared item, or None (work it out in place); waits for the worker if need be."""
        start = self.starts.get(type_)
        if start is None or index < start or self._later is None:
            return None
        if self._items is None:
            got = self._later.get()
            self._items = got if isinstance(got, dict) else {}
        items = self._items.get(type_)
        at = index - start
        return items[at] if items is not None and at < len(items) else None

    def close(self) -> None:
        """Stop a worker still preparing items nobody asked for; forget the prepared ones."""
        if self._later is not None:
            self._later.close()
        self._items = None
