"""The drift model: per account and type a status, per drifted item the live and declared values.

This is what a drift audit found, independent of how it is shown: every renderer (text, Markdown,
HTML, JUnit, JSON), the history file and the notifications read it. It is plain frozen data built
by :func:`reconciler.drift.build.build_report`; nothing here does I/O.

Statuses of one account/type (a *cell* of the status grid):

- ``in_sync``: the live items match the declared ones;
- ``drifted``: some items differ (see :class:`Kind`);
- ``not_auditable``: the provider cannot list the type, so only the state file is known;
- ``failed``: the read failed; ``reason`` says why.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from reconciler.types import APPLY_ORDER

FORMAT_VERSION = 1


class Status(StrEnum):
    """What the audit found for one account and type."""

    IN_SYNC = "in_sync"
    DRIFTED = "drifted"
    NOT_AUDITABLE = "not_auditable"
    FAILED = "failed"

    @property
    def label(self) -> str:
        return self.value.replace("_", " ")


class Kind(StrEnum):
    """How one live item differs from the declared one."""

    CHANGED = "changed"  # declared and live, with different values
    MISSING = "missing"  # declared, not live
    EXTRA = "extra"  # live, not declared, and `apply` deletes it (pruned type or created by the tool)
    UNMANAGED = "unmanaged"  # live, not declared, left alone by `apply`

    @property
    def label(self) -> str:
        return {"changed": "changed", "missing": "missing live", "extra": "extra live"}.get(
            self.value, "unmanaged live"
        )


KINDS: tuple[Kind, ...] = tuple(Kind)


class FailOn(StrEnum):
    """What makes `reconciler drift` exit 2 (``--fail-on``)."""

    DRIFT = "drift"  # changed, missing or extra items: what `apply` would change
    UNMANAGED = "unmanaged"  # live items nobody declared
    UNAUDITABLE = "unauditable"  # a type the provider cannot list


DEFAULT_FAIL_ON: frozenset[FailOn] = frozenset({FailOn.DRIFT})
_FAILING_KINDS = {
    FailOn.DRIFT: (Kind.CHANGED, Kind.MISSING, Kind.EXTRA),
    FailOn.UNMANAGED: (Kind.UNMANAGED,),
    FailOn.UNAUDITABLE: (),
}


@dataclass(frozen=True)
class FieldDiff:
    """One differing attribute: ``live has <live>, declared <declared>``; ``None`` is absent."""

    path: str
    live: Any
    declared: Any

    def to_json(self) -> dict[str, Any]:
        return {"path": self.path, "live": self.live, "declared": self.declared}


@dataclass(frozen=True)
class Item:
    """One drifted item of one account and type.

    ``fields`` lists the differing attributes of a changed item. ``live`` holds the live
    attributes of an extra or unmanaged item, ``declared`` the declared ones of a missing item.
    ``notes`` say what the planner knows beyond the values (why apply cannot fix it, that it was
    deleted outside reconciler).
    """

    account: str
    type: str
    key: str
    kind: Kind
    fields: tuple[FieldDiff, ...] = ()
    live: dict[str, Any] | None = None
    declared: dict[str, Any] | None = None
    notes: tuple[str, ...] = ()
    fixable: bool = True  # `reconciler apply` can restore the declared state

    @property
    def cell(self) -> str:
        return f"{self.account}/{self.type}"

    def to_json(self) -> dict[str, Any]:
        data: dict[str, Any] = {
            "account": self.account,
            "type": self.type,
            "key": self.key,
            "kind": self.kind.value,
            "fields": [f.to_json() for f in self.fields],
            "fixable": self.fixable,
        }
        if self.live is not None:
            data["live"] = self.live
        if self.declared is not None:
            data["declared"] = self.declared
        if self.notes:
            data["notes"] = list(self.notes)
        return data


@dataclass(frozen=True)
class Cell:
    """The audit of one account and type.

    ``counts`` has one entry per :class:`Kind`. ``declared`` and ``live`` count items on each
    side (``live`` is ``None`` when it could not be read or listed). ``reason`` explains a failed
    or not auditable cell; ``known`` what the state file says of a not auditable one. ``since``
    and ``trend`` come from the history: when the current drift was first seen and the drifted
    item counts of the last runs (oldest first, ``None`` for runs that could not tell).
    """

    account: str
    type: str
    provider: str
    status: Status
    counts: dict[str, int] = field(default_factory=dict)
    declared: int = 0
    live: int | None = None
    reason: str = ""
    known: str = ""
    since: str = ""
    trend: tuple[int | None, ...] = ()

    @property
    def name(self) -> str:
        return f"{self.account}/{self.type}"

    @property
    def drifted_items(self) -> int:
        return sum(self.counts.values())

    def fails(self, fail_on: Iterable[FailOn]) -> bool:
        """Whether this cell makes the audit exit 2 under ``fail_on``."""
        wanted = set(fail_on)
        if self.status is Status.NOT_AUDITABLE:
            return FailOn.UNAUDITABLE in wanted
        return any(self.counts.get(kind.value, 0) for f in wanted for kind in _FAILING_KINDS[f])

    def to_json(self) -> dict[str, Any]:
        data: dict[str, Any] = {
            "account": self.account,
            "type": self.type,
            "provider": self.provider,
            "status": self.status.value,
            "counts": {kind.value: self.counts.get(kind.value, 0) for kind in KINDS},
            "declared": self.declared,
            "live": self.live,
        }
        for name in ("reason", "known", "since"):
            if getattr(self, name):
                data[name] = getattr(self, name)
        if self.trend:
            data["trend"] = list(self.trend)
        return data


@dataclass(frozen=True)
class DriftReport:
    """Everything one drift audit found, in grid order (accounts sorted, types in apply order)."""

    checked_at: str
    revision: str
    cells: tuple[Cell, ...] = ()
    items: tuple[Item, ...] = ()
    errors: tuple[str, ...] = ()
    warnings: tuple[str, ...] = ()
    fail_on: frozenset[FailOn] = DEFAULT_FAIL_ON

    @property
    def accounts(self) -> list[str]:
        return list(dict.fromkeys(c.account for c in self.cells))

    @property
    def types(self) -> list[str]:
        """Every type of the grid, in apply order (types unknown to it last, as first listed)."""
        seen = list(dict.fromkeys(c.type for c in self.cells))
        return sorted(
            seen,
            key=lambda t: (APPLY_ORDER.index(t) if t in APPLY_ORDER else len(APPLY_ORDER), seen.index(t)),
        )

    def cell(self, account: str, type_: str) -> Cell | None:
        for cell in self.cells:
            if cell.account == account and cell.type == type_:
                return cell
        return None

    def items_of(self, cell: Cell) -> list[Item]:
        return [i for i in self.items if i.account == cell.account and i.type == cell.type]

    def count(self, status: Status) -> int:
        return sum(1 for c in self.cells if c.status is status)

    @property
    def totals(self) -> dict[str, int]:
        return {kind.value: sum(c.counts.get(kind.value, 0) for c in self.cells) for kind in KINDS}

    @property
    def failing(self) -> list[Cell]:
        """The cells that make the audit exit 2 under the report's ``fail_on``."""
        return [c for c in self.cells if c.fails(self.fail_on)]

    @property
    def has_errors(self) -> bool:
        return bool(self.errors) or any(c.status is Status.FAILED for c in self.cells)

    @property
    def exit_code(self) -> int:
        """1 when a read failed or the plan had errors, else 2 when a cell fails, else 0."""
        return 1 if self.has_errors else 2 if self.failing else 0

    def to_json(self) -> dict[str, Any]:
        return {
            "format_version": FORMAT_VERSION,
            "kind": "drift",
            "checked_at": self.checked_at,
            "revision": self.revision,
            "fail_on": sorted(f.value for f in self.fail_on),
            "exit_code": self.exit_code,
            "summary": {
                "cells": len(self.cells),
                **{status.value: self.count(status) for status in Status},
                "items": self.totals,
            },
            "cells": [c.to_json() for c in self.cells],
            "items": [i.to_json() for i in self.items],
            "errors": list(self.errors),
            "warnings": list(self.warnings),
        }


def summary_sentence(report: DriftReport) -> str:
    """One line: how many account/types are in sync, drifted, not auditable and failed."""
    total = len(report.cells)
    if total == 0:
        return "Nothing to audit: no account/type in scope."
    parts = [f"{report.count(Status.IN_SYNC)} of {total} account/types in sync"]
    drifted = report.count(Status.DRIFTED)
    if drifted:
        counts = ", ".join(f"{n} {Kind(k).label}" for k, n in report.totals.items() if n)
        parts.append(f"{drifted} drifted ({counts})")
    for status in (Status.NOT_AUDITABLE, Status.FAILED):
        if report.count(status):
            parts.append(f"{report.count(status)} {status.label}")
    return "Drift: " + ", ".join(parts) + "."


def cell_label(cell: Cell) -> str:
    """The word(s) of a grid cell: ``in sync``, ``drifted: 2 changed, 1 unmanaged live``, ..."""
    if cell.status is not Status.DRIFTED:
        return cell.status.label
    counts = ", ".join(f"{n} {Kind(k).label}" for k, n in cell.counts.items() if n)
    return f"drifted: {counts}"
