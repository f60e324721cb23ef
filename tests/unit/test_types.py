"""The resource-type table: the JSON Schema agrees with it, and the core names no type."""

from __future__ import annotations

import io
import json
import tokenize
from pathlib import Path
from typing import Any

import pytest

from reconciler.model import get_path
from reconciler.types import APPLY_ORDER, TABLE, TYPES, USER_TYPES, in_scope, referenced_types

ROOT = Path(__file__).resolve().parents[2]
SCHEMA = json.loads((ROOT / "reconciler" / "schemas" / "resources.schema.json").read_text(encoding="utf-8"))
# Modules that must stay generic: they read the type table, never a type's name.
CORE = ("planner.py", "engine.py", "apply.py", "plan.py", "changes.py", "saved_plan.py", "export.py")
CORE_DIRS = ("state", "render")


def _item_schema(type_: str) -> dict[str, Any]:
    record = TYPES[type_]
    prop = SCHEMA["properties"][type_]
    assert prop["items"]["$ref"] == f"#/$defs/{record.schema_def}", type_
    item: dict[str, Any] = SCHEMA["$defs"][record.schema_def]
    return item


def _schema_at(item: dict[str, Any], path: str) -> dict[str, Any]:
    node = item
    for part in path.split("."):
        node = node["properties"][part]
    return node


def test_the_schema_declares_exactly_the_user_types_of_the_table() -> None:
    """resources.schema.json has one array property per user type (plus `account`), none other."""
    assert set(SCHEMA["properties"]) - {"account"} == set(USER_TYPES)


@pytest.mark.parametrize("type_", USER_TYPES)
def test_every_field_the_table_names_exists_in_the_schema(type_: str) -> None:
    """Key, number, name-set, date and reference paths of each type are properties of its schema."""
    record = TYPES[type_]
    item = _item_schema(type_)
    paths = [record.key_field, *record.number_fields, *record.number_set_fields, *record.name_set_fields]
    paths += [*record.local_time_fields, *record.instant_fields, *record.lowercase_fields]
    paths += [ref.path for ref in record.references]
    paths += [record.key_fallback] if record.key_fallback else []
    for path in paths:
        assert _schema_at(item, path), (type_, path)
    for path in record.number_set_fields + record.name_set_fields:
        assert _schema_at(item, path)["type"] == "array", (type_, path)
    if not record.key_fallback:
        assert record.key_field in item.get("required", ()), type_


def test_references_and_sub_resources_point_at_known_types() -> None:
    """Every reference target, sub-resource parent and cascade type is in the table."""
    for record in TABLE:
        for ref in record.references:
            assert ref.target in TYPES, (record.name, ref)
        if record.sub is not None:
            assert record.sub.parent in USER_TYPES and record.sub.cascade in USER_TYPES
            assert not record.user


def test_referenced_types_come_first_in_apply_order() -> None:
    """A type is created after every type it refers to (so references exist when it is applied)."""
    for record in TABLE:
        for ref in record.references:
            assert APPLY_ORDER.index(ref.target) < APPLY_ORDER.index(record.name), (record.name, ref)
    assert set(referenced_types()) == {r.target for t in TABLE if t.user for r in t.references}


def test_a_sub_resource_is_in_scope_with_its_parent() -> None:
    """--type contacts also selects the sub-resources expanded from contacts."""
    subs = [t for t in TABLE if t.sub is not None]
    assert subs
    for sub in subs:
        assert sub.sub is not None
        assert in_scope(sub.name, frozenset({sub.sub.parent}))
        assert not in_scope(sub.name, frozenset({sub.sub.cascade} - {sub.sub.parent}))
        assert in_scope(sub.name, None)


def test_sub_resource_keys_round_trip_through_key_of() -> None:
    """A sub-item's key is built from its two attributes, as the provider reads it back."""
    for sub in (t for t in TABLE if t.sub is not None):
        assert sub.sub is not None
        attrs = {sub.sub.name_attr: "Staff", sub.sub.parent_attr: "+4790000001"}
        assert sub.key_of(attrs) == sub.sub.key("Staff", "+4790000001")
        assert get_path(attrs, sub.sub.name_attr) == "Staff"


def _string_literals(path: Path) -> list[tuple[int, str]]:
    tokens = tokenize.generate_tokens(io.StringIO(path.read_text(encoding="utf-8")).readline)
    out = []
    for tok in tokens:
        if tok.type == tokenize.STRING:
            out.append((tok.start[0], tok.string))
        elif tok.type == tokenize.NAME and tok.string == "MEMBERSHIPS":
            out.append((tok.start[0], tok.string))
    return out


def _core_files() -> list[Path]:
    package = ROOT / "reconciler"
    files = [package / name for name in CORE if (package / name).exists()]
    files += [package / "state.py"] if (package / "state.py").exists() else []
    for folder in CORE_DIRS:
        files += sorted((package / folder).glob("*.py")) if (package / folder).is_dir() else []
    return files


def test_no_core_module_names_a_resource_type() -> None:
    """The planner, engine, applier, plan, changes, saved plan, state, export and renderers name no type."""
    found = []
    for path in _core_files():
        for line, literal in _string_literals(path):
            if literal.startswith(('"""', "'''", 'r"""')):
                continue  # docstrings may show examples
            words = {w.strip("'\"") for w in literal.replace(".", " ").replace("/", " ").split()}
            hit = (words & set(TYPES)) or literal == "MEMBERSHIPS"
            if hit:
                found.append(f"{path.relative_to(ROOT)}:{line}: {literal}")
    assert found == []


def test_a_sub_item_is_its_key() -> None:
    """A sub-item holds nothing but the two names its key is made of, so one read under the same
    key is the same item and the planner finds nothing to update."""
    from reconciler.model import Resource, expand_sub_resources

    for record in (t for t in TABLE if t.sub is not None):
        relation = record.sub
        assert relation is not None
        parent = Resource("a", relation.parent, "P1", {relation.field: ["n1", "n2"], "other": "x"})
        items = expand_sub_resources(record, "a", {"P1": parent})
        assert set(items) == {relation.key("n1", "P1"), relation.key("n2", "P1")}
        for key, item in items.items():
            assert set(item.attrs) == {relation.name_attr, relation.parent_attr}
            assert relation.key(item.attrs[relation.name_attr], item.attrs[relation.parent_attr]) == key


def test_sub_items_are_built_when_asked_and_declare_live_items_through_their_parents() -> None:
    """The planner walks SubItems.entries (key, declaring parent) and builds an item only for a
    key the live side lacks; those are the items the mapping gives for their keys, in
    declaration order. ``declares`` finds a live item through its parent, as the key does."""
    from reconciler.model import Origin, Resource, expand_sub_resources

    for record in (t for t in TABLE if t.sub is not None):
        relation = record.sub
        assert relation is not None
        here = Origin("c.yaml", 3, 5)
        parents = {
            "P1": Resource("a", relation.parent, "P1", {relation.field: ["n1", "n2"]}, None, here),
            "P2": Resource("a", relation.parent, "P2", {relation.field: []}),
            "P3": Resource("a", relation.parent, "P3", {"other": "x"}),
        }
        items = expand_sub_resources(record, "a", parents)
        first, second = relation.key("n1", "P1"), relation.key("n2", "P1")
        assert list(items.entries()) == [(first, parents["P1"]), (second, parents["P1"])]
        assert list(items) == [first, second] and len(items) == 2 and relation.key("n1", "P2") not in items
        assert items[second].attrs == {relation.name_attr: "n2", relation.parent_attr: "P1"}
        assert items[second].origin == here and items[second].type == record.name
        assert items.item(second, parents["P1"]) == items[second]

        def live(name: str, parent: str, key: str = "", relation=relation, record=record) -> Resource:
            attrs = {relation.name_attr: name, relation.parent_attr: parent}
            return Resource("a", record.name, key or relation.key(name, parent), attrs, "1")

        assert items.declares(first, live("n1", "P1"))
        assert not items.declares(relation.key("n3", "P1"), live("n3", "P1"))  # not among P1's
        assert not items.declares(relation.key("n1", "P2"), live("n1", "P2"))  # P2 declares none
        assert not items.declares(relation.key("n1", "P3"), live("n1", "P3"))  # P3 lacks the field
        assert not items.declares(relation.key("n1", "P9"), live("n1", "P9"))  # no such parent
        assert not items.declares("odd key", live("n1", "P1", "odd key"))  # keyed otherwise
