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


class _Absent:
    """The value of an optional field that is not there (its type is allowed for every such field)."""


_ABSENT = _Absent()
_JSON_TYPES = (str, int, float, bool, dict, list, NONE)


def _exact(expected: JsonType, optional: bool) -> frozenset[type] | None:
    """The exact JSON types ``expected`` allows (``None``: any value), as :func:`matches` rules:
    true/false only where bool (or any value) is named."""
    kinds = expected if isinstance(expected, tuple) else (expected,)
    if object in kinds:
        return None
    allowed: set[type] = {t for t in _JSON_TYPES if any(issubclass(t, kind) for kind in kinds)}
    if bool not in kinds:
        allowed.discard(bool)
    if optional:
        allowed.add(_Absent)
    return frozenset(allowed)


@dataclass(frozen=True)
class Shape:
    """An object's fields: ``required`` and ``optional`` map a field name to its allowed types."""

    name: str  # what the object is, for messages ("group", "contact")
    required: Mapping[str, JsonType] = field(default_factory=dict)
    optional: Mapping[str, JsonType] = field(default_factory=dict)
    # (field, exact types allowed) for the quick test of :meth:`valid`; fields any value may take
    # are left out.
    _fields: tuple[tuple[str, frozenset[type]], ...] = field(init=False, repr=False, compare=False)
    _required_any: tuple[str, ...] = field(init=False, repr=False, compare=False)  # any value, present

    def __post_init__(self) -> None:
        fields = [(name, _exact(kind, False)) for name, kind in self.required.items()]
        fields += [(name, _exact(kind, True)) for name, kind in self.optional.items()]
        required_any = tuple(name for name, kind in self.required.items() if _exact(kind, False) is None)
        object.__setattr__(self, "_fields", tuple((n, k) for n, k in fields if k is not None))
        object.__setattr__(self, "_required_any", required_any)

    def valid(self, value: Any) -> bool:
        """True when ``value`` is a JSON object of this shape, tested on exact JSON types (a
        provider answers 100,000 of them; :meth:`check` explains a failure). False may also mean
        "not decided here": a value of another type than JSON's, which :meth:`check` rules on."""
        if type(value) is not dict:
            return False
        get = value.get
        for name, allowed in self._fields:
            if type(get(name, _ABSENT)) not in allowed:
                return False
        for name in self._required_any:
            if name not in value:
                return False
        return True

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
    valid = shape.valid
    for index, item in enumerate(value):
        if not valid(item):
            shape.check(item, f"{where} item {index + 1}" if where else f"item {index + 1}")
    return value
