"""Saved plans: the plan JSON plus a checksum and what is needed to refuse it when stale.

A saved plan is applied exactly as reviewed or not at all: :meth:`SavedPlan.check_fresh` refuses
it when the config, the state's lineage, the serials of its accounts' state (another run wrote
them), the live state or the resulting changes differ from when it was made.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from reconciler.config.types import Config
from reconciler.errors import ReconcilerError, StalePlan
from reconciler.plan import Fingerprints, Plan, checksum
from reconciler.shapes import NONE, TEXT, Shape, ShapeError, records
from reconciler.state import atomic_write


def save_plan(result: Plan, path: Path, config: Config) -> None:
    data = result.to_json()
    data.setdefault("meta", {})["root"] = str(config.root)
    data["checksum"] = checksum(data)
    atomic_write(path, json.dumps(data, indent=2, ensure_ascii=False) + "\n")


@dataclass(frozen=True)
class SavedPlan:
    """A saved plan file as read (checksum verified): its path, raw JSON and fingerprints."""

    path: Path
    data: dict[str, Any]

    @classmethod
    def read(cls, path: Path) -> SavedPlan:
        return cls(path, read_saved_plan(path))

    @property
    def fingerprints(self) -> Fingerprints:
        meta = self.data.get("meta")
        found = Fingerprints.from_json(meta) if isinstance(meta, dict) else None
        if found is None:
            raise ReconcilerError(
                f"{self.path}: the saved plan carries no fingerprints; make one with `reconciler plan --out`"
            )
        return found

    @property
    def root(self) -> str | None:
        meta = self.data.get("meta")
        root = meta.get("root") if isinstance(meta, dict) else None
        return str(root) if isinstance(root, str) else None

    def check_config(self, config: Config) -> None:
        """Refuse the plan when the config changed since it was made."""
        if self.fingerprints.config != config.fingerprint:
            raise StalePlan(
                f"{self.path}: the config changed since the plan was made; run `reconciler plan --out` again"
            )

    def check_fresh(self, config: Config, lineage: str, fresh: Plan) -> None:
        """Refuse the plan unless config, state lineage, live state and changes are as when it was made.

        ``lineage`` is the lineage of the state file it is applied against; ``fresh`` the plan made
        now for the same accounts and types.
        """
        self.check_config(config)
        made = self.fingerprints
        if made.state_lineage and made.state_lineage != lineage:
            raise StalePlan(
                f"{self.path}: the plan was made against another state file (lineage {made.state_lineage}, "
                f"this one is {lineage or 'new'}); run `reconciler plan --out` again against this state"
            )
        _check_serials(made.state_serials, fresh.fingerprints.state_serials if fresh.fingerprints else None)
        was = made.live or {}
        now = (fresh.fingerprints.live if fresh.fingerprints is not None else None) or {}
        changed = sorted(k for k in set(was) | set(now) if was.get(k) != now.get(k))
        if changed:
            raise StalePlan(
                f"the live state changed since the plan was made ({', '.join(changed)}); "
                "run `reconciler plan --out` again and review it"
            )
        want = [_comparable(c) for c in self.data.get("changes", ())]
        have = [_comparable(c.to_json()) for c in fresh.changes]
        if want != have:
            raise StalePlan(
                "the saved plan no longer matches what the config and the live state call for; "
                "run `reconciler plan --out` again and review it"
            )


def _check_serials(before: dict[str, int] | None, after: dict[str, int] | None) -> None:
    """Refuse a plan when another run wrote the state of one of its accounts since it was made."""
    if before is None:
        return  # a plan saved before serials were recorded: the live and change checks still hold
    now = after or {}
    moved = [
        f"{name} (serial {before[name]}, now {now.get(name, 0)})"
        for name in sorted(before)
        if before[name] != now.get(name, 0)
    ]
    if moved:
        raise StalePlan(
            f"the state changed since the plan was made: another run wrote {', '.join(moved)}; "
            "run `reconciler plan --out` again and review it"
        )


def read_saved_plan(path: Path) -> dict[str, Any]:
    try:
        data: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ReconcilerError(
            f"{path}: not a readable plan file ({exc}); make one with `reconciler plan --out`"
        ) from None
    if not isinstance(data, dict) or data.get("format_version") != 1 or "checksum" not in data:
        raise ReconcilerError(
            f"{path}: not a saved plan of format_version 1; make one with `reconciler plan --out`"
        )
    if checksum(data) != data["checksum"]:
        raise StalePlan(
            f"{path}: the plan file was modified after it was made (checksum mismatch); "
            "refusing it. Run `reconciler plan --out` again"
        )
    try:
        return _checked(data)
    except ShapeError as exc:
        raise ReconcilerError(
            f"{path}: not a usable saved plan: {exc}; make one with `reconciler plan --out`"
        ) from None


# What apply reads of a saved plan; a file of another shape is refused before anything runs.
_PLAN = Shape(
    "saved plan", {"meta": dict, "changes": list}, {"summary": dict, "warnings": list, "errors": list}
)
_META = Shape(
    "meta",
    {},
    {
        "root": TEXT,
        "config": TEXT,
        "state_lineage": (str, NONE),
        "accounts": (list, NONE),
        "types": (list, NONE),
        "live": (dict, NONE),
    },
)
_CHANGE = Shape("change", {"account": TEXT, "type": TEXT, "key": TEXT, "action": TEXT}, {})


def _checked(data: dict[str, Any]) -> dict[str, Any]:
    plan = _PLAN.check(data)
    meta = _META.check(plan["meta"], "meta")
    for name in ("accounts", "types"):
        if not all(isinstance(item, str) for item in meta.get(name) or ()):
            raise ShapeError(f"meta.{name}: expected a list of names")
    records(plan["changes"], _CHANGE, "changes")
    return plan


def _comparable(change: Any) -> str:
    if not isinstance(change, dict):
        return json.dumps(change, sort_keys=True, default=str)
    return json.dumps({k: v for k, v in change.items() if k != "extra"}, sort_keys=True, default=str)
