"""Copying state between backends (`state push` / `state pull`) without losing newer writes.

Copying account by account: an account whose destination serial is ahead of the source's (written
since the copy was made) is refused, as is one with the same serial but other content (two
histories), and a destination of another lineage; ``force`` overrides all three. The destination's
serial only moves forward, so saved plans made against what was overwritten are refused.
"""

from __future__ import annotations

import copy
import json
from typing import Any

from reconciler.state.document import ITEM_FIELDS


def _accounts(data: dict[str, Any]) -> set[str]:
    return set(data["accounts"]) | set(data["serials"]) | {i["account"] for i in data["intents"]}


def _content(data: dict[str, Any], account: str) -> str:
    intents = sorted(
        json.dumps({k: i.get(k) for k in (*ITEM_FIELDS, "action")}, sort_keys=True)
        for i in data["intents"]
        if i["account"] == account
    )
    types = {t: records for t, records in data["accounts"].get(account, {}).items() if records}
    return json.dumps([types, intents], sort_keys=True)


def _used(data: dict[str, Any]) -> bool:
    return any(data["serials"].values()) or any(data["accounts"].values())


def copy_problems(source: dict[str, Any], target: dict[str, Any], what: str) -> list[str]:
    """Why copying ``source`` over ``target`` would lose writes (empty: safe). ``what`` names the target."""
    problems = []
    if _used(target) and source["lineage"] != target["lineage"]:
        problems.append(
            f"{what} has another lineage ({target['lineage']}, not {source['lineage']}): "
            "it is not a copy of the same state"
        )
    for account in sorted(_accounts(source)):
        have, theirs = int(source["serials"].get(account, 0)), int(target["serials"].get(account, 0))
        if theirs > have:
            problems.append(f"{account}: {what} is newer (serial {theirs}, copying {have})")
        elif theirs == have and theirs and _content(source, account) != _content(target, account):
            problems.append(f"{account}: {what} has other content at the same serial {have}")
    return problems


def merged(source: dict[str, Any], target: dict[str, Any]) -> tuple[dict[str, Any], list[str]]:
    """``target`` with every account of ``source`` copied in; and the accounts that changed."""
    out = copy.deepcopy(target)
    out["lineage"] = source["lineage"]
    changed = []
    for account in sorted(_accounts(source)):
        have, theirs = int(source["serials"].get(account, 0)), int(target["serials"].get(account, 0))
        if _content(source, account) == _content(target, account) and have <= theirs:
            continue
        changed.append(account)
        records = copy.deepcopy(source["accounts"].get(account, {}))
        if records:
            out["accounts"][account] = records
        else:
            out["accounts"].pop(account, None)
        out["intents"] = [i for i in out["intents"] if i["account"] != account] + [
            dict(i) for i in source["intents"] if i["account"] == account
        ]
        out["serials"][account] = have if have > theirs else theirs + 1
    out["serial"] = sum(int(v) for v in out["serials"].values())
    return out, changed
