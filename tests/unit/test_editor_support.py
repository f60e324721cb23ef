"""Editor support: stable schema ids and the yaml-language-server line on every example file."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
ID_BASE = "https://raw.githubusercontent.com/reconciler/reconciler/main/schemas/"
EXAMPLES = sorted((ROOT / "examples").glob("*/*.yaml"))


@pytest.mark.parametrize("name", ["reconciler", "resources", "plan", "drift"])
def test_schemas_have_a_stable_id(name: str):
    """Each schema's $id is the published URL of its file (editors and $ref resolve by it)."""
    schema = json.loads((ROOT / "reconciler" / "schemas" / f"{name}.schema.json").read_text("utf-8"))
    assert schema["$id"] == f"{ID_BASE}{name}.schema.json"


@pytest.mark.parametrize("path", EXAMPLES, ids=lambda p: f"{p.parent.name}/{p.name}")
def test_examples_name_their_schema(path: Path):
    """An example starts with a yaml-language-server line naming the schema of its kind, which exists."""
    first = path.read_text("utf-8").splitlines()[0]
    prefix = "# yaml-language-server: $schema="
    assert first.startswith(prefix)
    target = (path.parent / first[len(prefix) :]).resolve()
    kind = "reconciler" if path.name == "reconciler.yaml" else "resources"
    assert target == (ROOT / "schemas" / f"{kind}.schema.json").resolve()
