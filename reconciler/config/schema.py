"""JSON Schema validation of config files, with errors turned into positioned, human problems.

The schemas live in ``reconciler/schemas/`` (Draft 2020-12; the top-level ``schemas/`` holds
copies). Resource files are validated item by item: the file against the schema with its item
schemas left out, then each item against its item schema. An item whose schema only speaks about
structure (keys and value types) is valid or invalid according to its *shape* alone, so items of a
shape already seen valid are not validated again; that keeps 100,000 contacts fast. Anything the
cache cannot prove goes through jsonschema.
"""

from __future__ import annotations

import difflib
import json
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from functools import cache
from importlib import resources
from typing import Any

from jsonschema import Draft202012Validator
from jsonschema.exceptions import ValidationError

from reconciler.config.yamlfile import Document, Spec, Text, locate
from reconciler.errors import Problem

ROOT_SCHEMA = "reconciler.schema.json"
RESOURCES_SCHEMA = "resources.schema.json"

# Keywords whose verdict depends only on an instance's shape (see _shape); minLength only up to 1.
_STRUCTURAL = frozenset(
    {
        "type",
        "properties",
        "additionalProperties",
        "required",
        "items",
        "$ref",
        "title",
        "description",
        "$comment",
        "minLength",
        "minProperties",
        "maxProperties",
        "minItems",
        "maxItems",
    }
)
_KIND = {
    "object": "a mapping (key: value pairs)",
    "array": "a list",
    "string": "a string",
    "integer": "a whole number",
    "number": "a number",
    "boolean": "true or false",
    "null": "empty",
}
_HINT = {
    "array": "write [a, b] or one '- item' per line",
    "object": "write key: value pairs below it",
    "string": "put the value in quotes",
    "boolean": "write true or false",
    "integer": "write a whole number",
    "number": "write a number",
}

Steps = tuple[str | int, ...]


@cache
def load_schema(name: str) -> dict[str, Any]:
    """The parsed schema ``<name>``, shipped inside the package (``reconciler/schemas/``)."""
    text = resources.files("reconciler.schemas").joinpath(name).read_text(encoding="utf-8")
    schema: dict[str, Any] = json.loads(text)
    return schema


def _resolve(schema: Mapping[str, Any], root: Mapping[str, Any]) -> Mapping[str, Any]:
    ref = schema.get("$ref")
    if isinstance(ref, str) and ref.startswith("#/$defs/"):
        return _resolve(root["$defs"][ref.removeprefix("#/$defs/")], root)
    return schema


def spec_of(schema: Mapping[str, Any], root: Mapping[str, Any] | None = None) -> Spec:
    """The build spec (see :mod:`yamlfile`) for ``schema``: where strings are expected."""
    root = root if root is not None else schema
    schema = _resolve(schema, root)
    kind = schema.get("type")
    if kind == "string":
        return Text
    if kind == "array" and isinstance(schema.get("items"), Mapping):
        return [spec_of(schema["items"], root)]
    if kind == "object":
        out = {name: spec_of(sub, root) for name, sub in schema.get("properties", {}).items()}
        extra = schema.get("additionalProperties")
        if isinstance(extra, Mapping):
            out["*"] = spec_of(extra, root)
        return out
    return None


def _structural(schema: Mapping[str, Any], root: Mapping[str, Any]) -> bool:
    schema = _resolve(schema, root)
    for keyword, value in schema.items():
        if keyword not in _STRUCTURAL or (keyword == "minLength" and value > 1):
            return False
    subs = list(schema.get("properties", {}).values())
    for keyword in ("items", "additionalProperties"):
        if isinstance(schema.get(keyword), Mapping):
            subs.append(schema[keyword])
    return all(_structural(sub, root) for sub in subs)


def _shape(value: Any) -> Any:
    """What a structural schema can see of ``value``; ``None`` for values it cannot summarize."""
    kind = type(value)
    if kind is str:
        return "s" if value else "e"
    if kind is dict:
        parts = [(key, _shape(item)) for key, item in value.items()]
        return None if any(part[1] is None for part in parts) else ("d", *parts)
    if kind is list:
        items = [_shape(item) for item in value]
        return None if None in items else ("l", *items)
    if kind is bool:
        return "b"
    if kind is int:
        return "i"
    if kind is float:
        return ("f", value.is_integer())
    return "n" if value is None else None


@dataclass
class _ItemChecker:
    validator: Draft202012Validator
    cacheable: bool
    valid_shapes: set[Any]

    def errors(self, item: Any) -> Iterator[ValidationError]:
        shape = _shape(item) if self.cacheable else None
        if shape is not None and shape in self.valid_shapes:
            return
        found = False
        for error in self.validator.iter_errors(item):
            found = True
            yield error
        if shape is not None and not found:
            self.valid_shapes.add(shape)


class FileValidator:
    """Validates documents against one schema file, items of top-level lists one by one."""

    def __init__(self, name: str) -> None:
        schema = load_schema(name)
        self.schema = schema
        self.spec = spec_of(schema)
        shallow = dict(schema)
        shallow["properties"] = dict(schema.get("properties", {}))
        self.items: dict[str, _ItemChecker] = {}
        for key, sub in schema.get("properties", {}).items():
            if sub.get("type") == "array" and isinstance(sub.get("items"), Mapping):
                item_schema = {"$schema": schema["$schema"], "$defs": schema.get("$defs", {}), **sub["items"]}
                self.items[key] = _ItemChecker(
                    Draft202012Validator(item_schema), _structural(sub["items"], schema), set()
                )
                shallow["properties"][key] = {k: v for k, v in sub.items() if k != "items"}
        self.top = Draft202012Validator(shallow)

    def problems(self, doc: Document) -> tuple[list[Problem], set[Steps]]:
        """Every schema problem of ``doc`` (positioned, human), and what is too broken to check further.

        The second value holds ``()`` when the file as a whole is unusable, ``(key,)`` for a
        top-level entry and ``(key, index)`` for an item with errors other than unknown fields
        (semantic checks skip those; they drop unknown fields of the others).
        """
        assert doc.value is not None
        found: list[Problem] = []
        broken: set[Steps] = set()
        errors: list[tuple[Steps, ValidationError]] = [((), e) for e in self.top.iter_errors(doc.value)]
        for key, checker in self.items.items():
            items = doc.value.get(key)
            if isinstance(items, list):
                for index, item in enumerate(items):
                    errors.extend(((key, index), e) for e in checker.errors(item))
        for prefix, error in errors:
            if error.validator != "additionalProperties":
                broken.add(prefix or tuple(error.absolute_path)[:1])
            for path, on_key, message in describe(error, prefix, self.schema):
                line, col = locate(doc.tree, path, key=on_key)
                found.append(Problem(message, doc.path, line, col))
        return found, broken


@cache
def validator(name: str) -> FileValidator:
    """The shared validator of one schema file (its shape cache lives as long as the process)."""
    return FileValidator(name)


def where(path: Sequence[str | int]) -> str:
    """``contacts[2].groups`` for ``("contacts", 2, "groups")``."""
    text = ""
    for step in path:
        text += f"[{step}]" if isinstance(step, int) else (f".{step}" if text else str(step))
    return text


def _kind_of(value: Any) -> str:
    for name, kind in (
        ("true or false", bool),
        ("a whole number", int),
        ("a number", float),
        ("a string", str),
        ("a list", list),
        ("a mapping", dict),
    ):
        if isinstance(value, kind):
            return name
    return "empty" if value is None else "a date"


def _is_secret(path: Steps) -> bool:
    return len(path) >= 3 and path[0] == "accounts" and path[2] == "credentials"


def describe(error: ValidationError, prefix: Steps, root: Mapping[str, Any]) -> list[tuple[Steps, bool, str]]:
    """(path, point at key?, message) for one jsonschema error; several for several unknown keys."""
    path: Steps = prefix + tuple(error.absolute_path)
    at = where(path)
    kind, value, instance = error.validator, error.validator_value, error.instance
    if kind == "additionalProperties" and isinstance(instance, dict):
        allowed = sorted(error.schema.get("properties", {}))
        out = []
        for name in instance:
            if name in allowed:
                continue
            close = difflib.get_close_matches(name, allowed, n=1, cutoff=0.6)
            hint = f"did you mean '{close[0]}'? " if close else ""
            what = f"unknown field '{name}' in {at}" if path else f"unknown top-level key '{name}'"
            message = f"{what} ({hint}allowed: {', '.join(allowed)})"
            out.append((path + (name,), True, message))
        return out
    if kind == "required" and isinstance(instance, dict):
        place = f"{at} is missing" if path else "missing"
        return [
            (path, False, f"{place} required field '{name}' (add {name}: ...)")
            for name in value
            if name not in instance
        ]
    if kind == "type":
        wanted = [value] if isinstance(value, str) else list(value)
        expected = " or ".join(_KIND[w] for w in wanted)
        hint = _HINT.get(wanted[0], "fix the value")
        return [(path, False, f"{at} must be {expected}, not {_kind_of(instance)} ({hint})")]
    return [(path, False, _message(error, path, at))]


def _message(error: ValidationError, path: Steps, at: str) -> str:
    kind, value, instance = error.validator, error.validator_value, error.instance
    if _is_secret(path):
        return f"{at}: invalid credential value (see the provider's credential keys)"
    if kind == "enum":
        choices = ", ".join(str(v) for v in value)
        if path and path[-1] == "provider":
            return f"{at}: unknown provider '{instance}' (choose one of: {choices})"
        if len(path) >= 2 and path[-2] == "prune":
            return f"{at}: '{instance}' is not a resource type (choose one of: {choices})"
        return f"{at}: '{instance}' is not allowed here (choose one of: {choices})"
    if kind == "const":
        return f"{at} must be {value!r}, not {instance!r} (this reconciler reads version {value})"
    if kind == "pattern" and path and path[-1] == "region":
        return (
            f"{at}: '{instance}' is not a two-letter country code (write an ISO 3166 code such as SE, NO, GB)"
        )
    if kind == "anyOf" and all(set(sub) == {"required"} for sub in value):
        names = [name for sub in value for name in sub["required"]]
        return f"{at} needs {' or '.join(names)} (add {names[0]}: ...)"
    if kind in ("minimum", "maximum"):
        bound = "at least" if kind == "minimum" else "at most"
        return f"{at} must be {bound} {value}, not {instance} (change the number)"
    if kind in ("minLength", "minItems", "minProperties"):
        return f"{at} must not be empty (write a value or remove it)"
    if kind == "uniqueItems":
        return f"{at} lists a value more than once (remove the repeat)"
    return f"{at}: {error.message} (fix the value)"


@cache
def item_fields(name: str) -> dict[str, frozenset[str]]:
    """Field names each top-level list of schema ``name`` allows in its items (``contacts`` -> ...)."""
    schema = load_schema(name)
    out: dict[str, frozenset[str]] = {}
    for key, sub in schema.get("properties", {}).items():
        items = sub.get("items")
        if isinstance(items, Mapping):
            out[key] = frozenset(_resolve(items, schema).get("properties", {}))
    return out
