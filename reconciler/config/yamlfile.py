"""Read one YAML file into plain Python values while keeping its node tree for positions.

libyaml's ``CSafeLoader`` composes the node tree (every node carries its 1-based line and column
after :func:`line_col`); :func:`build` turns nodes into plain values itself, so it can reject what a
config must not contain: duplicate keys, tags, anchors and aliases (alias bombs never expand).

Scalar rules (YAML 1.2 where YAML 1.1 surprises people): only ``true``/``false`` are booleans
(``NO``, ``yes``, ``on`` stay strings, so ``region: NO`` means Norway); where the schema expects a
string (a *spec* says so), a number or timestamp written without quotes keeps its text as written
(``mobile: 0701234567`` is the string ``"0701234567"``, ``appointment: 2026-12-01T08:30:00`` the
string ``"2026-12-01T08:30:00"``, read later by the model's date-time normalization). Elsewhere
YAML timestamps become ``datetime`` objects.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import yaml
from yaml.constructor import SafeConstructor
from yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode

from reconciler.errors import Problem

_TAG = "tag:yaml.org,2002:"
STR, NULL, BOOL, INT, FLOAT, TIMESTAMP = (
    _TAG + t for t in ("str", "null", "bool", "int", "float", "timestamp")
)
MAP, SEQ = _TAG + "map", _TAG + "seq"
_SCALAR_TAGS = frozenset({STR, NULL, BOOL, INT, FLOAT, TIMESTAMP})
_CONSTRUCTOR = SafeConstructor()
_CONSTRUCT = {
    INT: _CONSTRUCTOR.construct_yaml_int,
    FLOAT: _CONSTRUCTOR.construct_yaml_float,
    TIMESTAMP: _CONSTRUCTOR.construct_yaml_timestamp,
}


class Text:
    """Spec marker: a string field (an unquoted number or date-time keeps its text as written)."""


# A spec mirrors the schema: the Text marker, a dict of key -> spec (the key "*" stands for any
# other key), or a one-element list [spec] for sequences. ``None`` means "build by YAML rules".
Spec = Any


@dataclass(frozen=True)
class Document:
    """One YAML file: ``value`` is the built mapping (``None`` when empty), ``node`` its root node."""

    path: str  # as shown in messages
    rel: str  # relative to the config root, posix separators
    data: bytes
    value: dict[str, Any] | None
    node: MappingNode | None


class _Abort(Exception):
    """Stop building a file whose content cannot be trusted."""


def _shown(tag: str) -> str:
    """A tag as written: ``!!python/object`` rather than ``tag:yaml.org,2002:python/object``."""
    return "!!" + tag.removeprefix(_TAG) if tag.startswith(_TAG) else tag


def line_col(node: Node) -> tuple[int, int]:
    """1-based line and column where ``node`` starts."""
    mark = node.start_mark
    return mark.line + 1, mark.column + 1


def _position(text: str, index: int) -> tuple[int, int]:
    line = text.count("\n", 0, index) + 1
    return line, index - (text.rfind("\n", 0, index) + 1) + 1


def decode(data: bytes, path: str) -> tuple[str | None, list[Problem]]:
    """UTF-8 text of ``data`` (a leading BOM dropped), or a problem at the first undecodable byte."""
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        good = data[: exc.start].decode("utf-8")
        line, col = _position(good, len(good))
        byte = data[exc.start]
        message = f"file is not valid UTF-8: byte 0x{byte:02x} cannot be read (save the file as UTF-8)"
        return None, [Problem(message, path, line, col)]
    return text.removeprefix("\ufeff"), []


def _syntax_problem(exc: yaml.YAMLError, text: str, path: str) -> Problem:
    if isinstance(exc, yaml.reader.ReaderError):
        line, col = _position(text, exc.position)
        message = f"character #x{exc.character:04x} is not allowed in YAML (remove it)"
        return Problem(message, path, line, col)
    mark = getattr(exc, "problem_mark", None) or getattr(exc, "context_mark", None)
    line, col = (mark.line + 1, mark.column + 1) if mark else (1, 1)
    what = str(getattr(exc, "problem", "") or exc)
    lines = text.splitlines()
    row = lines[line - 1] if 0 < line <= len(lines) else ""
    if "tab" in what or row[col - 1 : col] == "\t" or "\t" in row[: len(row) - len(row.lstrip(" \t"))]:
        col = row.index("\t") + 1 if "\t" in row else col
        return Problem("tab character in indentation (YAML indents with spaces only)", path, line, col)
    hint = "check indentation, quotes and brackets"
    if "${" in row and ("{" in row.split("${")[0] or "[" in row.split("${")[0]):
        hint = 'inside { } or [ ], quote values that use ${...}: write "${NAME}"'
    elif "mapping values" in what:
        hint = "quote a value that contains ': ' or fix the indentation"
    elif "undefined alias" in what:
        hint = "aliases are not supported; write the value out"
    return Problem(f"invalid YAML: {what} ({hint})", path, line, col)


def _plural(count: int, one: str, many: str = "") -> str:
    return f"{count} {one if count == 1 else (many or one + 's')}"


def _anchor_problem(text: str, path: str) -> Problem | None:
    """A problem at the first anchor if the file defines any (scanned only when ``&`` occurs)."""
    anchors: list[yaml.Token] = []
    aliases = 0
    try:
        for token in yaml.scan(text, Loader=yaml.CSafeLoader):
            if isinstance(token, yaml.AnchorToken):
                anchors.append(token)
            elif isinstance(token, yaml.AliasToken):
                aliases += 1
    except yaml.YAMLError:
        return None  # composing reports the syntax error with its position
    if not anchors:
        return None
    counts = f"{_plural(len(anchors), 'anchor')} and {_plural(aliases, 'alias', 'aliases')} in this file"
    message = (
        f"YAML anchors and aliases are not supported: anchor '&{anchors[0].value}' ({counts}; "
        "write each value out in full)"
    )
    line, col = anchors[0].start_mark.line + 1, anchors[0].start_mark.column + 1
    return Problem(message, path, line, col)


class _Builder:
    """Turns a node tree into plain values, collecting problems with their positions."""

    def __init__(self, path: str) -> None:
        self.path = path
        self.problems: list[Problem] = []

    def problem(self, node: Node, message: str) -> None:
        line, col = line_col(node)
        self.problems.append(Problem(message, self.path, line, col))

    def value(self, node: Node, spec: Spec) -> Any:
        if isinstance(node, ScalarNode):
            return self.scalar(node, spec)
        if isinstance(node, MappingNode):
            if node.tag != MAP:
                self.problem(node, f"YAML tag '{_shown(node.tag)}' is not supported (remove it)")
            return self.mapping(node, spec if isinstance(spec, dict) else None)
        if node.tag != SEQ:
            self.problem(node, f"YAML tag '{_shown(node.tag)}' is not supported (remove it)")
        inner = spec[0] if isinstance(spec, list) else None
        return [self.value(item, inner) for item in node.value]

    def mapping(self, node: MappingNode, spec: Mapping[str, Spec] | None) -> dict[str, Any]:
        out: dict[str, Any] = {}
        seen: dict[str, Node] = {}
        for key_node, value_node in node.value:
            if not isinstance(key_node, ScalarNode) or key_node.tag not in (STR, NULL, BOOL, INT, FLOAT):
                what = "merge keys (<<)" if key_node.tag == _TAG + "merge" else "complex or tagged keys"
                self.problem(key_node, f"{what} are not supported (write plain key: value pairs)")
                continue
            key = key_node.value
            if key in seen:
                first, _ = line_col(seen[key])
                self.problem(key_node, f"duplicate key '{key}' (first written on line {first}; remove one)")
                continue
            seen[key] = key_node
            inner = None if spec is None else spec.get(key, spec.get("*"))
            out[key] = self.value(value_node, inner)
        return out

    def scalar(self, node: ScalarNode, spec: Spec) -> Any:
        tag = node.tag
        if tag not in _SCALAR_TAGS:
            self.problem(node, f"YAML tag '{_shown(tag)}' is not supported (remove it)")
            return node.value
        if tag == STR or node.style:
            return node.value
        if tag == NULL:
            return None
        if tag == BOOL:
            low = node.value.lower()
            return True if low == "true" else False if low == "false" else node.value
        if spec is Text:
            return node.value
        construct = _CONSTRUCT[tag]
        try:
            return construct(node)
        except (ValueError, OverflowError, yaml.constructor.ConstructorError):
            return node.value  # e.g. 2026-13-01: normalization reports it as a bad date


def parse(data: bytes, path: str, rel: str, spec: Spec = None) -> tuple[Document, list[Problem]]:
    """Parse one file holding one YAML mapping. Problems never stop other files from loading.

    An empty file (no document, or only comments) gives ``value=None`` and no problem: the caller
    decides whether that is allowed.
    """
    empty = Document(path, rel, data, None, None)
    text, problems = decode(data, path)
    if text is None:
        return empty, problems
    if "&" in text and (anchor := _anchor_problem(text, path)):
        return empty, [anchor]
    loader = yaml.CSafeLoader(text)
    try:
        if not loader.check_node():
            return empty, []
        node = loader.get_node()
        following = loader.peek_event()  # the next document's start, or the end of the stream
        if not isinstance(following, yaml.StreamEndEvent):
            line, col = following.start_mark.line + 1, following.start_mark.column + 1
            message = "several YAML documents in one file (keep one per file: split it into several files)"
            return empty, [Problem(message, path, line, col)]
    except yaml.YAMLError as exc:
        return empty, [_syntax_problem(exc, text, path)]
    except RecursionError:
        return empty, [Problem("YAML nested too deeply (flatten the structure)", path, 1, 1)]
    finally:
        loader.dispose()
    if isinstance(node, ScalarNode) and node.tag == NULL and not node.value:
        return empty, []
    if not isinstance(node, MappingNode):
        kind = "a list" if isinstance(node, SequenceNode) else "a single value"
        line, col = line_col(node)
        message = f"the file must hold a mapping of keys (key: value), not {kind} (see the config reference)"
        return empty, [Problem(message, path, line, col)]
    builder = _Builder(path)
    try:
        value = builder.mapping(node, spec if isinstance(spec, dict) else None)
    except RecursionError:
        return empty, [Problem("YAML nested too deeply (flatten the structure)", path, 1, 1)]
    return Document(path, rel, data, value, node), builder.problems


# -- positions ---------------------------------------------------------------------------------------


def child(node: Node | None, step: str | int) -> tuple[Node | None, Node | None]:
    """The (key node, value node) for ``step`` under ``node``; ``(None, None)`` when absent."""
    if isinstance(node, MappingNode):
        for key_node, value_node in node.value:
            if isinstance(key_node, ScalarNode) and key_node.value == step:
                return key_node, value_node
    elif isinstance(node, SequenceNode) and isinstance(step, int) and 0 <= step < len(node.value):
        return None, node.value[step]
    return None, None


def locate(
    node: Node, path: tuple[str | int, ...] | list[str | int], *, key: bool = False
) -> tuple[int, int]:
    """Line and column of the value at ``path`` below ``node`` (of its key with ``key=True``).

    Stops at the deepest node that exists, so a missing value points at its parent.
    """
    current: Node = node
    key_node: Node | None = None
    for step in path:
        found_key, found = child(current, step)
        if found is None:
            return line_col(key_node if key and key_node is not None else current)
        key_node, current = found_key, found
    return line_col(key_node if key and key_node is not None else current)
