"""Saved plans: the plan JSON plus a checksum and what is needed to refuse it when stale."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from reconciler.config.types import Config
from reconciler.errors import ReconcilerError, StalePlan
from reconciler.plan import Plan, checksum
from reconciler.state import atomic_write


def save_plan(result: Plan, path: Path, config: Config) -> None:
    data = result.to_json()
    data.setdefault("meta", {})["root"] = str(config.root)
    data["checksum"] = checksum(data)
    atomic_write(path, json.dumps(data, indent=2, ensure_ascii=False) + "\n")


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
    return data


def check_fresh(saved: dict[str, Any], fresh: Plan) -> None:
    was = saved.get("meta", {}).get("live", {})
    now = fresh.meta.get("live", {})
    changed = sorted(k for k in set(was) | set(now) if was.get(k) != now.get(k))
    if changed:
        raise StalePlan(
            f"the live state changed since the plan was made ({', '.join(changed)}); "
            "run `reconciler plan --out` again and review it"
        )
    want = [_comparable(c) for c in saved.get("changes", ())]
    have = [_comparable(c.to_json()) for c in fresh.changes]
    if want != have:
        raise StalePlan(
            "the saved plan no longer matches what the config and the live state call for; "
            "run `reconciler plan --out` again and review it"
        )


def _comparable(change: dict[str, Any]) -> str:
    return json.dumps({k: v for k, v in change.items() if k != "extra"}, sort_keys=True)
