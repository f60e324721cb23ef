"""Tests of the JSON renderer against the interface contract and schemas/plan.schema.json."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from jsonschema import Draft202012Validator

from reconciler.changes import Action, Change
from reconciler.plan import Plan, checksum
from reconciler.render import render

SCHEMA_PATH = Path(__file__).resolve().parents[2] / "schemas" / "plan.schema.json"


@pytest.fixture(scope="module")
def validator() -> Draft202012Validator:
    """A Draft 2020-12 validator of the plan schema (the schema itself checked first)."""
    schema = json.loads(SCHEMA_PATH.read_text(encoding="utf-8"))
    Draft202012Validator.check_schema(schema)
    return Draft202012Validator(schema)


def test_json_golden(sample_plan, golden):
    """The representative plan renders exactly as tests/golden/plan.json."""
    golden("plan.json", render(sample_plan, "json"))


def test_json_is_the_plan_object(sample_plan):
    """The JSON output is Plan.to_json() and reads back into an equal plan."""
    data = json.loads(render(sample_plan, "json"))
    assert data == sample_plan.to_json()
    assert data["format_version"] == 1
    assert Plan.from_json(data).changes == sample_plan.changes


def test_json_keeps_non_ascii_text():
    """Non-ASCII values are written as UTF-8 text, not \\u escapes."""
    change = Change("se-main", "contacts", "+46701234567", Action.CREATE, after={"first_name": "Åsa"})
    assert '"first_name": "Åsa"' in render(Plan(changes=(change,)), "json")


def test_json_validates_against_schema(sample_plan, validator):
    """The representative plan's JSON validates against the plan schema."""
    validator.validate(json.loads(render(sample_plan, "json")))


def test_empty_plan_validates(validator):
    """A plan without changes and without a creation time validates."""
    validator.validate(json.loads(render(Plan(), "json")))


def test_saved_plan_with_checksum_validates(sample_plan, validator):
    """A saved plan carrying its checksum validates."""
    data = sample_plan.to_json()
    data["checksum"] = checksum(data)
    validator.validate(data)


def test_interface_example_validates(validator):
    """The example object of the interface spec, section 3, validates."""
    example = {
        "format_version": 1,
        "created_at": "2026-11-22T10:00:00Z",
        "changes": [
            {
                "account": "se-main",
                "type": "contacts",
                "key": "+46701234567",
                "action": "update",
                "before": {"first_name": "Jon"},
                "after": {"first_name": "John"},
                "fields": ["first_name"],
            }
        ],
        "warnings": [{"account": "uk", "type": "phone_lists", "key": "VIP customers", "message": "..."}],
        "errors": [],
        "summary": {"create": 0, "update": 1, "delete": 0, "replace": 0, "unsupported": 0},
    }
    validator.validate(example)


@pytest.mark.parametrize(
    ("path", "value"),
    [
        (("format_version",), 2),
        (("changes", 0, "action"), "upsert"),
        (("changes", 0, "password"), "x"),
        (("changes", 0, "before"), "Jon"),
        (("summary", "create"), -1),
        (("warnings", 0, "severity"), "high"),
        (("checksum",), "not-hex"),
    ],
)
def test_schema_rejects_invalid_plans(sample_plan, validator, path, value):
    """The schema rejects a wrong version, an unknown action or member, bad attrs, counts and checksum."""
    data = sample_plan.to_json()
    target = data
    for part in path[:-1]:
        target = target[part]
    target[path[-1]] = value
    assert not validator.is_valid(data)


def test_schema_ties_sides_to_the_action(validator):
    """A create with a before side, or a delete with an after side, is rejected."""
    create = Change("a", "groups", "G", Action.CREATE, before={"name": "G"}, after={"name": "G"})
    delete = Change("a", "groups", "G", Action.DELETE, before={"name": "G"}, after={"name": "G"})
    for change in (create, delete):
        assert not validator.is_valid(Plan(changes=(change,)).to_json())
