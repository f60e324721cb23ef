"""docs/configuration.md names every key the config schemas accept."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[2]


def _keys(schema: dict[str, Any], node: Any, seen: set[str], out: set[str]) -> None:
    if not isinstance(node, dict):
        return
    for name, sub in node.get("properties", {}).items():
        out.add(name)
        _keys(schema, sub, seen, out)
    for part in ("items", "additionalProperties"):
        _keys(schema, node.get(part), seen, out)
    ref = node.get("$ref", "")
    if ref.startswith("#/$defs/") and ref not in seen:
        seen.add(ref)
        _keys(schema, schema["$defs"][ref.rsplit("/", 1)[1]], seen, out)


@pytest.mark.parametrize("name", ["reconciler.schema.json", "resources.schema.json"])
def test_every_schema_key_is_documented(name: str) -> None:
    """Each property name the schema accepts (safety, ignore, protect included) appears in the docs."""
    schema = json.loads((ROOT / "reconciler" / "schemas" / name).read_text(encoding="utf-8"))
    keys: set[str] = set()
    _keys(schema, schema, set(), keys)
    assert {"safety", "max_deletes", "ignore", "fields", "protect"} & keys
    doc = (ROOT / "docs" / "configuration.md").read_text(encoding="utf-8")
    missing = sorted(k for k in keys if not re.search(rf"(?<![\w.-]){re.escape(k)}(?![\w-])", doc))
    assert missing == []
