"""The Plan: an ordered tuple of changes, warnings and a summary; JSON round-trip.

The planner itself (``diff``) lives in :mod:`reconciler.planner`; this module is the data.
"""

from __future__ import annotations

import hashlib
import json
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from reconciler.changes import Action, Change
from reconciler.errors import Problem

FORMAT_VERSION = 1


@dataclass(frozen=True)
class Warning_:
    """A plan warning about one resource (or a whole account/type when ``key`` is empty)."""

    account: str
    type: str
    key: str
    message: str

    def to_json(self) -> dict[str, str]:
        return {"account": self.account, "type": self.type, "key": self.key, "message": self.message}


@dataclass(frozen=True)
class Plan:
    """The minimal change set, in apply order.

    ``unmanaged`` counts live items that are neither declared nor pruned, per (account, type);
    each is also listed in ``warnings``. ``errors`` are plan-time problems (an invalid sender, an
    opted-out number) that make the plan unappliable. ``meta`` carries what a saved plan needs to
    detect staleness (fingerprints); never secrets.
    """

    changes: tuple[Change, ...] = ()
    warnings: tuple[Warning_, ...] = ()
    errors: tuple[Problem, ...] = ()
    created_at: str = ""
    meta: dict[str, Any] = field(default_factory=dict)

    @property
    def summary(self) -> dict[str, int]:
        counts = Counter(change.action.value for change in self.changes)
        return {action.value: counts.get(action.value, 0) for action in Action}

    @property
    def has_changes(self) -> bool:
        return bool(self.changes)

    @property
    def applicable(self) -> tuple[Change, ...]:
        return tuple(c for c in self.changes if c.action is not Action.UNSUPPORTED)

    def to_json(self) -> dict[str, Any]:
        data: dict[str, Any] = {
            "format_version": FORMAT_VERSION,
            "created_at": self.created_at,
            "changes": [change.to_json() for change in self.changes],
            "warnings": [warning.to_json() for warning in self.warnings],
            "errors": [str(error) for error in self.errors],
            "summary": self.summary,
        }
        if self.meta:
            data["meta"] = self.meta
        return data

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Plan:
        return cls(
            changes=tuple(Change.from_json(c) for c in data.get("changes", ())),
            warnings=tuple(Warning_(**w) for w in data.get("warnings", ())),
            errors=tuple(Problem(e) for e in data.get("errors", ())),
            created_at=data.get("created_at", ""),
            meta=data.get("meta") or {},
        )


def checksum(data: dict[str, Any]) -> str:
    """SHA-256 of the canonical JSON of ``data`` without its ``checksum`` member."""
    body = {k: v for k, v in data.items() if k != "checksum"}
    text = json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()
