"""The JSON Schemas: valid Draft 2020-12, documented for editors, in step with providers; human errors."""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

import pytest
from jsonschema import Draft202012Validator

from reconciler.config import schema as schema_module
from reconciler.config.schema import RESOURCES_SCHEMA, ROOT_SCHEMA, FileValidator, item_fields, spec_of
from reconciler.config.yamlfile import Text, parse
from reconciler.model import MEMBERSHIPS, USER_TYPES
from reconciler.providers.base import REGISTRY, provider_info

SCHEMAS = Path(__file__).resolve().parents[2] / "schemas"


def properties(node: Any, path: str = "") -> Iterator[tuple[str, Mapping[str, Any]]]:
    """Every property schema below ``node`` (through properties, items, additionalProperties, $defs)."""
    if not isinstance(node, Mapping):
        return
    for name, sub in node.get("properties", {}).items():
        yield f"{path}.{name}", sub
        yield from properties(sub, f"{path}.{name}")
    for keyword in ("items", "additionalProperties"):
        yield from properties(node.get(keyword), f"{path}[{keyword}]")
    for name, sub in node.get("$defs", {}).items():
        yield f"$defs.{name}", sub
        yield from properties(sub, f"$defs.{name}")


@pytest.mark.parametrize("name", [ROOT_SCHEMA, RESOURCES_SCHEMA])
def test_schema_is_valid_draft_2020_12_with_docs(name: str) -> None:
    """Each schema is a valid 2020-12 schema and every property has a title and a description."""
    schema = json.loads((SCHEMAS / name).read_text())
    Draft202012Validator.check_schema(schema)
    assert schema["$schema"] == "https://json-schema.org/draft/2020-12/schema"
    assert schema["title"] and schema["description"]
    undocumented = [
        path for path, sub in properties(schema) if not (sub.get("title") and sub.get("description"))
    ]
    assert undocumented == []


def test_provider_and_type_enums_follow_the_code() -> None:
    """The provider enum is the registry and prune's enum is the user types."""
    account = json.loads((SCHEMAS / ROOT_SCHEMA).read_text())["$defs"]["account"]["properties"]
    assert account["provider"]["enum"] == sorted(REGISTRY)
    assert tuple(account["prune"]["items"]["enum"]) == USER_TYPES


def test_resource_fields_are_the_union_of_provider_fields() -> None:
    """Each type allows exactly the fields some provider offers for it, and protect (contacts: from_csv)."""
    fields = item_fields(RESOURCES_SCHEMA)
    assert set(fields) == set(USER_TYPES)
    for type_ in USER_TYPES:
        offered: set[str] = set()
        for name in REGISTRY:
            capability = provider_info(name).capabilities.get(type_)
            offered |= set(capability.fields) if capability else set()
        extra = {"from_csv", "protect"} if type_ == "contacts" else {"protect"}
        assert fields[type_] == offered | extra, type_
    assert MEMBERSHIPS not in fields


def test_spec_marks_string_fields() -> None:
    """The build spec says Text wherever the schema expects a string, through $ref and lists."""
    spec = spec_of(json.loads((SCHEMAS / RESOURCES_SCHEMA).read_text()))
    assert spec["contacts"][0]["mobile"] is Text
    assert spec["phone_lists"][0]["numbers"] == [Text]
    assert spec["reminders"][0]["attendant"]["mobile"] is Text
    assert spec["phone_lists"][0]["folder"] is None  # integer or string: YAML decides
    root = spec_of(json.loads((SCHEMAS / ROOT_SCHEMA).read_text()))
    assert root["accounts"]["*"]["credentials"]["*"] is Text


def validate(text: str) -> list[str]:
    """Schema problems of one resource file text, as lines."""
    doc, problems = parse(text.encode(), "f.yaml", "f.yaml", FileValidator(RESOURCES_SCHEMA).spec)
    assert problems == []
    found, _ = FileValidator(RESOURCES_SCHEMA).problems(doc)
    return [str(p) for p in found]


def test_required_enum_empty_and_type_messages() -> None:
    """Missing fields, bad enum values, empty strings and wrong types read as one human line each."""
    assert validate("groups:\n  - description: x\n") == [
        "f.yaml:1:1: missing required field 'account' (add account: ...)",
        "f.yaml:2:5: groups[0] is missing required field 'name' (add name: ...)",
    ]
    assert validate(
        "account: a\ncampaigns:\n  - {name: c, text: t, to: {numbers: ['1']}, status: paused}\n"
    ) == [
        "f.yaml:3:54: campaigns[0].status: 'paused' is not allowed here (choose one of: scheduled, stopped)"
    ]
    assert validate("account: a\ngroups:\n  - name: ''\n") == [
        "f.yaml:3:11: groups[0].name must not be empty (write a value or remove it)"
    ]
    assert validate(
        "account: a\nreminders:\n  - {name: r, appointment: x, attendant: {mobile: '1'}, active: yes}\n"
    ) == ["f.yaml:3:65: reminders[0].active must be true or false, not a string (write true or false)"]
    assert validate("account: a\ncontacts: {mobile: '1'}\n") == [
        "f.yaml:2:11: contacts must be a list, not a mapping (write [a, b] or one '- item' per line)"
    ]


def test_items_of_a_known_valid_shape_skip_jsonschema(monkeypatch: pytest.MonkeyPatch) -> None:
    """Items shaped like one already found valid are not validated again; others still are."""
    checker = FileValidator(RESOURCES_SCHEMA)
    calls = []
    contacts = checker.items["contacts"]
    original = contacts.validator

    class Counting:
        def iter_errors(self, item: Any) -> Any:
            calls.append(item)
            return original.iter_errors(item)

    monkeypatch.setattr(contacts, "validator", Counting())
    items = "".join(f"  - {{mobile: '+4670{i:07d}', first_name: N{i}}}\n" for i in range(200))
    assert validate_with(
        checker, f"account: a\ncontacts:\n{items}  - {{mobile: '1', first_name: true}}\n"
    ) == [
        "f.yaml:203:31: contacts[200].first_name must be a string, not true or false (put the value in quotes)"
    ]
    assert len(calls) == 2
    assert not checker.items["campaigns"].cacheable  # status has an enum: values matter


def validate_with(checker: FileValidator, text: str) -> list[str]:
    """Schema problems of ``text`` by a given checker, as lines."""
    doc, _ = parse(text.encode(), "f.yaml", "f.yaml", checker.spec)
    return [str(p) for p in checker.problems(doc)[0]]


def test_credential_values_never_appear_in_schema_messages() -> None:
    """A schema error inside credentials does not quote the value."""
    checker = schema_module.validator(ROOT_SCHEMA)
    text = b"version: 1\naccounts:\n  a:\n    provider: intime\n    credentials: {user: [s3cr3t-value]}\n"
    doc, _ = parse(text, "r.yaml", "r.yaml", checker.spec)
    assert [str(p) for p in checker.problems(doc)[0]] == [
        "r.yaml:5:25: accounts.a.credentials.user must be a string, not a list (put the value in quotes)"
    ]
