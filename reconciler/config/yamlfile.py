"""Read one YAML file into plain Python values, with positions for every node on demand.

libyaml's ``CSafeLoader`` parses the file; :func:`parse` builds plain values from its event stream
itself, so it can refuse what a config must not contain (duplicate keys, tags, anchors and aliases,
several documents) at the exact line and column, and never expands an alias (alias bombs cost
nothing). ``Document.tree`` is the composed node tree of the same text (CSafeLoader ``compose``),
built the first time a problem needs a position: a node tree of 100,000 contacts holds ~500 MB of
marks, so valid files never build one. Item start positions of top-level lists are kept while
parsing (``Document.starts``), for the origin of every declared resource.

Scalar rules (YAML 1.2 where YAML 1.1 surprises people): only ``true``/``false`` are booleans
(``NO``, ``yes``, ``on`` stay strings, so ``region: NO`` means Norway); where the schema expects a
string (a *spec* says so), a number or timestamp written without quotes keeps its text as written
(``mobile: 0701234567`` is the string ``"0701234567"``, ``appointment: 2026-12-01T08:30:00`` the
string ``"2026-12-01T08:30:00"``, read later by the model's date-time normalization). Elsewhere
YAML timestamps become ``datetime`` objects.
"""

from __future__ import annotations

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
_CONSTRUCTOR = SafeConstructor()
_CONSTRUCT = {
    INT: _CONSTRUCTOR.construct_yaml_int,
    FLOAT: _CONSTRUCTOR.construct_yaml_float,
    TIMESTAMP: _CONSTRUCTOR.construct_yaml_timestamp,
}
_RESOLVER = yaml.resolver.Resolver()
_NULL_WORDS = frozenset({"", "~", "null", "Null", "NULL"})
_BOOL_WORDS = {"true": True, "True": True, "TRUE": True, "false": False, "False": False, "FALSE": False}
MAX_DEPTH = 64  # config files need about 6 levels; deeper is a mistake or an attack


class Text:
    """Spec marker: a string field (an unquoted number or date-time keeps its text as written)."""


# A spec mirrors the schema: the Text marker, a dict of key -> spec (the key "*" stands for any
# other key), or a one-element list [spec] for sequences. ``None`` means "build by YAML rules".
Spec = Any
Position = tuple[int, int]


class Document:
    """One YAML file: ``value`` is the built mapping, ``None`` when the file is empty or unusable."""

    def __init__(
        self,
        path: str,
        rel: str,
        data: bytes,
        text: str | None = "",
        value: dict[str, Any] | None = None,
        starts: dict[str, list[Position]] | None = None,
    ) -> None:
        self.path = path  # as shown in messages
        self.rel = rel  # relative to the config root, posix separators
        self.data = data
        self._text = text  # None: decoded from data when first needed (a parse worker's file)
        self.value = value
        self.starts = starts or {}  # top-level key -> start of each item of its list
        self.prepared: Any = None  # items a parse worker prepares (reconciler.config.prepare.Ahead)
        self._tree: Node | None = None

    @property
    def text(self) -> str:
        """The file's text; for a file parsed elsewhere, decoded on first use (only a problem's
        position needs it: at 100,000 contacts that is 9 MB a valid config never holds)."""
        if self._text is None:
            self._text = decode(self.data, self.path)[0] or ""
        return self._text

    def forget_tree(self) -> None:
        """Drop the node tree (the next use of :attr:`tree` composes it again)."""
        self._tree = None

    @property
    def tree(self) -> Node:
        """The composed node tree (built on first use; only for files whose ``value`` was built)."""
        if self._tree is None:
            self._tree = yaml.compose(self.text, Loader=yaml.CSafeLoader)
        return self._tree


def _shown(tag: str) -> str:
    """A tag as written: ``!!python/object`` rather than ``tag:yaml.org,2002:python/object``."""
    return "!!" + tag.removeprefix(_TAG) if tag.startswith(_TAG) else tag


def line_col(node: Node | yaml.Event) -> Position:
    """1-based line and column where ``node`` (or event) starts."""
    mark = node.start_mark
    return mark.line + 1, mark.column + 1


def _position(text: str, index: int) -> Position:
    line = text.count("\n", 0, index) + 1
    return line, index - (text.rfind("\n", 0, index) + 1) + 1


def _plural(count: int, one: str, many: str = "") -> str:
    return f"{count} {one if count == 1 else (many or one + 's')}"


def decode(data: bytes, path: str) -> tuple[str | None, list[Problem]]:
    """UTF-8 text of ``data`` (a leading BOM dropped), or a problem at the first undecodable byte."""
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        good = data[: exc.start].decode("utf-8")
        line, col = _position(good, len(good))
        message = (
            f"file is not valid UTF-8: byte 0x{data[exc.start]:02x} cannot be read (save the file as UTF-8)"
        )
        return None, [Problem(message, path, line, col)]
    return text.removeprefix("\ufeff"), []


def _syntax_problem(exc: yaml.YAMLError, text: str, path: str) -> Problem:
    if isinstance(exc, yaml.reader.ReaderError):
        line, col = _position(text, exc.position)
        return Problem(f"character #x{exc.character:04x} is not allowed in YAML (remove it)", path, line, col)
    mark = getattr(exc, "problem_mark", None) or getattr(exc, "context_mark", None)
    line, col = (mark.line + 1, mark.column + 1) if mark else (1, 1)
    what = str(getattr(exc, "problem", "") or exc)
    lines = text.splitlines()
    row = lines[line - 1] if 0 < line <= len(lines) else ""
    if "tab" in what or row[col - 1 : col] == "\t" or "\t" in row[: len(row) - len(row.lstrip(" \t"))]:
        col = row.index("\t") + 1 if "\t" in row else col
        return Problem("tab character in indentation (YAML indents with spaces only)", path, line, col)
    hint = "check indentation, quotes and brackets"
    before = row.split("${")[0]
    if "${" in row and ("{" in before or "[" in before):
        hint = 'inside { } or [ ], quote values that use ${...}: write "${NAME}"'
    elif "mapping values" in what:
        hint = "quote a value that contains ': ' or fix the indentation"
    return Problem(f"invalid YAML: {what} ({hint})", path, line, col)


class _Frame:
    """A mapping or sequence being built, with the specs of its children worked out once."""

    __slots__ = ("container", "is_map", "item_spec", "key", "seen", "spec", "star", "start")

    def __init__(self, container: dict[str, Any] | list[Any], spec: Spec, start: yaml.Event) -> None:
        self.container = container
        self.is_map = isinstance(container, dict)
        self.spec = spec if isinstance(spec, dict) else None  # mappings: key -> spec
        self.star = self.spec.get("*") if self.spec else None  # mappings: spec of other keys
        self.item_spec = spec[0] if isinstance(spec, list) else None  # sequences
        self.start = start
        self.key: str | None = None  # mappings: the key whose value comes next; None = a key comes next
        self.seen: dict[str, int] = {}  # mappings: key -> line it was first written on

    def child_spec(self) -> Spec:
        if not self.is_map:
            return self.item_spec
        return self.spec.get(self.key, self.star) if self.spec is not None and self.key else None


_SKIP = "\0skip"  # a key whose value is dropped (already reported)


class _TooDeep(Exception):
    """The document nests deeper than MAX_DEPTH."""


class _Builder:
    """Plain values from one document's events (see module docstring), collecting problems.

    One loop over the events, written for speed: a 100,000-contact file has 1.5 million events.
    """

    def __init__(self, path: str, spec: Spec) -> None:
        self.path = path
        self.spec = spec
        self.problems: list[Problem] = []
        self.starts: dict[str, list[Position]] = {}
        self.anchors: list[yaml.Event] = []
        self.aliases: list[yaml.Event] = []
        self.root: Any = None
        self.root_event: yaml.Event | None = None

    def problem(self, event: yaml.Event, message: str) -> None:
        line, col = line_col(event)
        self.problems.append(Problem(message, self.path, line, col))

    def run(self, loader: yaml.CSafeLoader) -> None:
        """Consume the events of one document's root node."""
        get_event = loader.get_event
        stack: list[_Frame] = []
        frame: _Frame | None = None
        scalar = self.scalar
        while True:
            event = get_event()
            kind = type(event)
            if kind is yaml.ScalarEvent:
                if event.anchor is not None:
                    self.anchors.append(event)
                if frame is None:
                    self.root, self.root_event = scalar(event, self.spec), event
                    return
                if frame.is_map:
                    if frame.key is None:
                        frame.key = self.key(event, frame)
                        continue
                    value = scalar(event, frame.spec.get(frame.key, frame.star) if frame.spec else None)
                    if frame.key is not _SKIP:
                        frame.container[frame.key] = value  # type: ignore[call-overload]
                    frame.key = None
                    continue
                if len(stack) == 2:
                    self._start(stack, event)
                frame.container.append(scalar(event, frame.item_spec))  # type: ignore[union-attr]
            elif kind is yaml.MappingStartEvent or kind is yaml.SequenceStartEvent:
                if event.anchor is not None:
                    self.anchors.append(event)
                wanted = MAP if kind is yaml.MappingStartEvent else SEQ
                if event.tag not in (None, "!", wanted):
                    self.problem(event, f"YAML tag '{_shown(event.tag)}' is not supported (remove it)")
                if len(stack) >= MAX_DEPTH:
                    self.problem(event, f"YAML nested deeper than {MAX_DEPTH} levels (flatten the structure)")
                    raise _TooDeep
                if len(stack) == 2 and not stack[1].is_map:
                    self._start(stack, event)
                spec = self.spec if frame is None else frame.child_spec()
                frame = _Frame({} if kind is yaml.MappingStartEvent else [], spec, event)
                stack.append(frame)
            elif kind is yaml.MappingEndEvent or kind is yaml.SequenceEndEvent:
                done = stack.pop()
                if not stack:
                    self.root, self.root_event = done.container, done.start
                    return
                frame = stack[-1]
                self._attach(frame, done.container, done.start)
            elif kind is yaml.AliasEvent:
                self.aliases.append(event)
                if frame is None:
                    return
                self._attach(frame, None, event)

    def _start(self, stack: list[_Frame], event: yaml.Event) -> None:
        """Note where an item of a top-level list starts (its resource's origin)."""
        if not stack[1].is_map and stack[0].key:
            starts = self.starts.setdefault(stack[0].key, [])
            starts.append((event.start_mark.line + 1, event.start_mark.column + 1))

    def _attach(self, frame: _Frame, value: Any, event: yaml.Event) -> None:
        """Put a finished collection (or an alias's None) into ``frame``, as a value or a key."""
        if not frame.is_map:
            frame.container.append(value)  # type: ignore[union-attr]
        elif frame.key is None:
            self.problem(event, "complex or tagged keys are not supported (write plain key: value pairs)")
            frame.key = _SKIP
        else:
            if frame.key is not _SKIP:
                frame.container[frame.key] = value  # type: ignore[call-overload]
            frame.key = None

    def key(self, event: yaml.ScalarEvent, frame: _Frame) -> str:
        key = event.value
        if event.tag not in (None, "!", STR):
            self.problem(event, "complex or tagged keys are not supported (write plain key: value pairs)")
            return _SKIP
        if key == "<<" and event.implicit[0]:
            self.problem(event, "merge keys (<<) are not supported (write plain key: value pairs)")
            return _SKIP
        if key in frame.seen:
            self.problem(
                event, f"duplicate key '{key}' (first written on line {frame.seen[key]}; remove one)"
            )
            return _SKIP
        frame.seen[key] = event.start_mark.line + 1
        return str(key)

    def scalar(self, event: yaml.ScalarEvent, spec: Spec) -> Any:
        tag, text = event.tag, event.value
        if tag is None:
            if not event.implicit[0]:
                return text  # quoted
            if spec is Text:
                return None if text in _NULL_WORDS else _BOOL_WORDS.get(text, text)
            tag = _RESOLVER.resolve(ScalarNode, text, (True, False))
        if tag in ("!", STR):
            return text
        if tag == NULL:
            return None
        if tag == BOOL:
            return _BOOL_WORDS.get(text, text)  # yes/no/on/off stay strings (YAML 1.2)
        construct = _CONSTRUCT.get(tag)
        if construct is None:
            self.problem(event, f"YAML tag '{_shown(tag)}' is not supported (remove it)")
            return text
        if spec is Text:
            return text
        try:
            return construct(ScalarNode(tag, text))
        except (ValueError, IndexError, OverflowError, yaml.constructor.ConstructorError):
            if event.tag is not None:
                self.problem(
                    event, f"'{text}' is not a valid {_shown(tag)} (fix the value or remove the tag)"
                )
            return text  # untagged, e.g. 2026-13-01: normalization reports it as a bad date

    def anchor_problem(self) -> Problem:
        counts = (
            f"{_plural(len(self.anchors), 'anchor')} and {_plural(len(self.aliases), 'alias', 'aliases')}"
        )
        first = self.anchors[0] if self.anchors else self.aliases[0]
        what = f"anchor '&{first.anchor}'" if self.anchors else f"alias '*{first.anchor}'"
        line, col = line_col(first)
        message = (
            f"YAML anchors and aliases are not supported: {what} ({counts} in this file; "
            "write each value out in full)"
        )
        return Problem(message, self.path, line, col)


def parse(data: bytes, path: str, rel: str, spec: Spec = None) -> tuple[Document, list[Problem]]:
    """Parse one file holding one YAML mapping. Problems never stop other files from loading.

    An empty file (no document, only comments, or an empty document) gives ``value=None`` and no
    problem: the caller decides whether that is allowed.
    """
    text, problems = decode(data, path)
    if text is None:
        return Document(path, rel, data), problems
    empty = Document(path, rel, data, text)
    builder = _Builder(path, spec)
    loader = yaml.CSafeLoader(text)
    try:
        loader.get_event()  # StreamStart
        if isinstance(loader.peek_event(), yaml.StreamEndEvent):
            return empty, []
        loader.get_event()  # DocumentStart
        builder.run(loader)
        loader.get_event()  # DocumentEnd
        event = loader.peek_event()
        if not isinstance(event, yaml.StreamEndEvent):
            message = "several YAML documents in one file (keep one per file: split it into several files)"
            return empty, [*builder.problems, Problem(message, path, *line_col(event))]
    except yaml.YAMLError as exc:
        return empty, [*builder.problems, _syntax_problem(exc, text, path)]
    except _TooDeep:
        return empty, builder.problems
    finally:
        loader.dispose()
    if builder.anchors or builder.aliases:
        return empty, [builder.anchor_problem()]
    root = builder.root
    if root is None:
        return empty, builder.problems
    if not isinstance(root, dict):
        kind = "a list" if isinstance(root, list) else "a single value"
        message = f"the file must hold a mapping of keys (key: value), not {kind} (see the config reference)"
        line, col = line_col(builder.root_event) if builder.root_event else (1, 1)
        return empty, [Problem(message, path, line, col)]
    return Document(path, rel, data, text, root, builder.starts), builder.problems


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


def locate(node: Node, path: tuple[str | int, ...] | list[str | int], *, key: bool = False) -> Position:
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


def locate_char(doc: Document, path: tuple[str | int, ...], index: int) -> Position | None:
    """Line and column in the file of character ``index`` of the string scalar at ``path``.

    The source of the scalar is searched for the same occurrence of that character (the n-th one
    in the value is the n-th one in the source). ``None`` when that cannot be exact, e.g. when the
    value spells some of them as escapes (``"\\u2019"``).
    """
    node: Node | None = doc.tree
    for step in path:
        _, node = child(node, step)
    if not isinstance(node, ScalarNode) or not 0 <= index < len(node.value):
        return None
    char = node.value[index]
    source = doc.text[node.start_mark.index : node.end_mark.index]
    if source.count(char) != node.value.count(char):
        return None
    nth = node.value.count(char, 0, index)
    offset = -1
    for _ in range(nth + 1):
        offset = source.find(char, offset + 1)
    return _position(doc.text, node.start_mark.index + offset)
