"""Contacts from a CSV file (``contacts: [{from_csv: file.csv}]``), each row with its position.

The header row names contact fields (the same names as in YAML); cells are separated by commas
and may be quoted; ``groups`` holds group names separated by ``;``. Empty cells are left out (an
unset field), blank rows are skipped. Problems point at ``file.csv:row:column``.
"""

from __future__ import annotations

import csv
from collections.abc import Collection
from dataclasses import dataclass

from reconciler.config.yamlfile import decode
from reconciler.errors import Problem

GROUP_SEPARATOR = ";"


@dataclass(frozen=True)
class Row:
    """One contact row: its fields, its 1-based line, and what :meth:`column` needs."""

    attrs: dict[str, object]
    line: int
    raw: str  # the row's first physical line
    header: tuple[str, ...]

    def column(self, name: str) -> int:
        """1-based column where the cell of field ``name`` starts (1 when unknown)."""
        if name not in self.header:
            return 1
        starts = cell_columns(self.raw)
        index = self.header.index(name)
        return starts[index] if index < len(starts) else 1


def cell_columns(line: str) -> list[int]:
    """1-based start column of each comma-separated cell of ``line`` (quotes respected)."""
    starts = [1]
    quoted = False
    for index, char in enumerate(line):
        if char == '"':
            quoted = not quoted  # a doubled quote toggles twice: still inside
        elif char == "," and not quoted:
            starts.append(index + 2)
    return starts


def read_rows(data: bytes, path: str, fields: Collection[str]) -> tuple[Row | None, list[Row], list[Problem]]:
    """The header (a Row without attrs), the rows and the problems of one CSV file.

    Only columns named in ``fields`` are allowed; rows of the wrong width are problems, not rows.
    """
    text, problems = decode(data, path)
    if text is None:
        return None, [], problems
    lines = text.splitlines(keepends=True)
    reader = csv.reader(lines, strict=True)
    try:
        header = [name.strip() for name in next(reader, [])]
    except csv.Error as exc:
        return None, [], [Problem(f"unreadable CSV header: {exc} (fix the quoting)", path, 1, 1)]
    if not any(header):
        return (
            None,
            [],
            [
                Problem(
                    "CSV file has no header row (start it with the field names, e.g. "
                    "mobile,first_name,last_name,groups)",
                    path,
                    1,
                    1,
                )
            ],
        )
    names = tuple(header)
    starts = cell_columns(lines[0])
    for index, name in enumerate(header):
        col = starts[index] if index < len(starts) else 1
        if name not in fields:
            problems.append(
                Problem(
                    f"unknown column '{name}' in the CSV header (allowed: {', '.join(sorted(fields))})",
                    path,
                    1,
                    col,
                )
            )
        elif name in header[:index]:
            problems.append(
                Problem(f"column '{name}' appears twice in the CSV header (remove one)", path, 1, col)
            )
    rows: list[Row] = []
    line_no = reader.line_num
    while True:
        start = line_no + 1
        try:
            cells = next(reader, None)
        except csv.Error as exc:
            problems.append(Problem(f"unreadable CSV row: {exc} (fix the quoting)", path, start, 1))
            break
        line_no = reader.line_num
        if cells is None:
            break
        if not any(cell.strip() for cell in cells):
            continue
        if len(cells) != len(header):
            message = (
                f"row has {len(cells)} cells but the header has {len(header)} "
                "(quote cells that contain commas)"
            )
            problems.append(Problem(message, path, start, 1))
            continue
        rows.append(Row(_attrs(header, cells), start, lines[start - 1], names))
    return Row({}, 1, lines[0], names), rows, problems


def _attrs(header: list[str], cells: list[str]) -> dict[str, object]:
    attrs: dict[str, object] = {}
    for name, cell in zip(header, cells, strict=True):
        value = cell.strip()
        if not value or not name:
            continue
        if name == "groups":
            attrs[name] = [part.strip() for part in value.split(GROUP_SEPARATOR) if part.strip()]
        else:
            attrs[name] = value
    return attrs
