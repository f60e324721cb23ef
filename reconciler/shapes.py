"""Shape checks for data from outside (provider answers, state files, saved plans).

A JSON document of the wrong shape (a group without ``GroupId``, a list of numbers, a string
where an object belongs) must end as one clear line naming the request or file and what was
expected, never as a ``KeyError`` deep inside a translation. Each boundary declares a
:class:`Shape` (field -> allowed JSON types, required or optional) and passes what it received
through :meth:`Shape.check` or :func:`records`; what comes out is known to have that shape.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

JsonType = type | tuple[type, ...]
NONE = type(None)
TEXT: JsonType = str
INT: JsonType = int
OPTIONAL_TEXT: JsonType = (str, NONE)
OPTIONAL_INT: JsonType = (int, NONE)
OPTIONAL_BOOL: JsonType = (bool, NONE)
OBJECT: JsonType = dict
LIST: JsonType = list
ANY: JsonType = object

_NAMES = {
    str: "text",
    int: "an integer",
    float: "a number",
    bool: "true/false",
    dict: "an object",
    list: "a list",
    NONE: "null",
    object: "any value",
}


def type_name(value: Any) -> str:
    """The JSON name of ``value``'s type, for messages."""
    if isinstance(value, bool):
        return "true/false"
    return _NAMES.get(type(value), type(value).__name__)


def _allowed(expected: JsonType) -> str:
    kinds = expected if isinstance(expected, tuple) else (expected,)
    return " or ".join(_NAMES.get(kind, kind.__name__) for kind in kinds)


def matches(value: Any, expected: JsonType) -> bool:
    """``isinstance`` for JSON, where true/false is not an integer."""
    kinds = expected if isinstance(expected, tuple) else (expected,)
    if isinstance(value, bool) and bool not in kinds and object not in kinds:
        return False
    return isinstance(value, kinds)


class ShapeError(ValueError):
    """``what`` has the wrong shape; the message says where and what was expected."""


@dataclass(frozen=True)
class Shape:
    """An object's fields: ``required`` and ``optional`` map a field name to its allowed types."""

    name: str  # what the object is, for messages ("group", "contact")
    required: Mapping[str, JsonType] = field(default_factory=dict)
    optional: Mapping[str, JsonType] = field(default_factory=dict)

    def describe(self) -> str:
        fields = [f"{name} ({_allowed(kind)})" for name, kind in self.required.items()]
        return f"an object with {', '.join(fields)}" if fields else "an object"

    def check(self, value: Any, where: str = "") -> dict[str, Any]:
        """``value`` if it is an object of this shape; raises ShapeError naming ``where`` otherwise."""
        at = f"{where}: " if where else ""
        if not isinstance(value, dict):
            raise ShapeError(f"{at}expected {self.name} as {self.describe()}, got {type_name(value)}")
        for name, kind in self.required.items():
            if name not in value:
                raise ShapeError(f"{at}{self.name} without {name} (expected {self.describe()})")
            if not matches(value[name], kind):
                raise ShapeError(
                    f"{at}{self.name} {name} is {type_name(value[name])}, expected {_allowed(kind)}"
                )
        for name, kind in self.optional.items():
            if name in value and not matches(value[name], kind):
                raise ShapeError(
                    f"{at}{self.name} {name} is {type_name(value[name])}, expected {_allowed(kind)}"
                )
        return value


def records(value: Any, shape: Shape, where: str = "") -> list[dict[str, Any]]:
    """``value`` if it is a list of objects of ``shape``; raises ShapeError naming the item."""
    at = f"{where}: " if where else ""
    if not isinstance(value, list):
        raise ShapeError(f"{at}expected a list of {shape.name}s, got {type_name(value)}")
    for index, item in enumerate(value):
        shape.check(item, f"{where} item {index + 1}" if where else f"item {index + 1}")
    return value
