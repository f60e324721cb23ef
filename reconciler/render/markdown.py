"""The plan as GitHub-flavoured Markdown for pull-request comments.

A heading, the summary line, an ``action | count`` table, then one table per account and type
(``action | key | changes``), then warnings and errors as lists. Every value is escaped so that
``|``, backticks, ``*``, ``_``, ``<`` and friends render literally and can't break the tables.
A table longer than :data:`VISIBLE_ROWS` shows its first rows and folds the rest into
``<details>``.

A comment has a size limit (GitHub refuses more than 65,536 characters), so a document longer
than :data:`LIMIT` is summarised: every account and type keeps its heading and its counts
("+3,000 to create"), each table shows only its first rows, long warning and error lists are cut,
and a note says where the whole plan is (the saved plan, or ``--format text`` as a CI artifact).
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterator

from reconciler.changes import Action, Change
from reconciler.plan import Plan
from reconciler.render.impact import impact_text, totals, with_impact
from reconciler.render.text import details, group_changes, printable, summary_line, warning_labels

VISIBLE_ROWS = 50
DEFAULT_TITLE = "Reconciler plan"
LIMIT = 60_000
# Rows per table tried in turn when summarising, until the document fits in LIMIT.
_SUMMARY_ROWS = (20, 10, 5, 3, 1, 0)
# A summarised document lists at most this many warnings and errors, and cuts long cells.
_SUMMARY_ITEMS = 20
_SUMMARY_CELL = 300
SEE_ALL = (
    "The whole plan: the saved plan (`reconciler plan --out plan.json`), or "
    "`reconciler plan --format text` kept as a CI artifact."
)

# CommonMark lets a backslash escape any ASCII punctuation; these are the ones that can start
# markup inline or inside a table cell (``>`` only matters at the start of a line).
_SPECIAL = re.compile(r"([\\`*_\[\]<|~&#!])")
_TABLE_HEAD = "| Action | Key | Changes |\n| --- | --- | --- |"


def escape(text: str) -> str:
    """``text`` made literal for a Markdown table cell or list item (one line)."""
    return _SPECIAL.sub(r"\\\1", printable(text))


def _cut(text: str, limit: int | None) -> str:
    return text if limit is None or len(text) <= limit else text[: limit - 1] + "…"


def _row(change: Change, cell: int | None = None) -> str:
    symbol = change.action.symbol
    action = f"`{symbol}` {change.action.value}"
    cells = []
    for detail in details(change):
        if detail.sign == "#":
            cells.append(f"_{escape(_cut(detail.text, cell))}_")
        elif detail.sign in "+-":
            cells.append(f"`{detail.sign}` {escape(_cut(detail.text, cell))}")
        else:
            cells.append(escape(_cut(detail.text, cell)))
    return f"| {action} | {escape(_cut(change.key, cell))} | {'<br>'.join(cells)} |"


def _table(changes: list[Change]) -> Iterator[str]:
    yield _TABLE_HEAD
    for change in changes[:VISIBLE_ROWS]:
        yield _row(change)
    rest = changes[VISIBLE_ROWS:]
    if rest:
        yield from ("", f"<details><summary>{len(rest)} more</summary>", "", _TABLE_HEAD)
        for change in rest:
            yield _row(change)
        yield from ("", "</details>")


def _impact_table(plan: Plan, cut: int | None = None) -> list[str]:
    """``### Send impact``: one row per campaign change that sends (the first ``cut`` of them when
    summarising), then the totals per account."""
    sending = with_impact(plan.changes)
    if not sending:
        return []
    out = [
        "### Send impact",
        "",
        "| Account | Campaign | Action | Impact |",
        "| --- | --- | --- | --- |",
    ]
    out += [
        f"| {escape(c.account)} | {escape(c.key)} | {c.action.value} | "
        f"{escape(impact_text(c.impact or {}))} |"
        for c in (sending if cut is None else sending[:cut])
    ]
    if cut is not None and len(sending) > cut:
        out.append(f"| _…and {len(sending) - cut:,} more_ | | | |")
    out += ["", *(f"- **{escape(str(total))}**" for total in totals(sending)), ""]
    return out


def _counts(changes: list[Change]) -> str:
    """``+3,000 to create, ~2 to update`` for one section."""
    counts = Counter(change.action for change in changes)
    return ", ".join(
        f"{action.symbol}{counts[action]:,} to {action.value}"
        if action is not Action.UNSUPPORTED
        else f"{counts[action]:,} unsupported"
        for action in Action
        if counts[action]
    )


def _summarised_table(changes: list[Change], rows: int) -> Iterator[str]:
    yield f"**{escape(_counts(changes))}**" + (f"; the first {min(rows, len(changes))}:" if rows else "")
    if rows:
        yield ""
        yield _TABLE_HEAD
        for change in changes[:rows]:
            yield _row(change, _SUMMARY_CELL)
    if len(changes) > rows:
        yield ""
        yield f"_…and {len(changes) - rows:,} more._"


def _listed(title: str, items: list[str], cut: int | None) -> Iterator[str]:
    yield from (f"### {title}", "")
    shown = items if cut is None else items[:cut]
    for item in shown:
        yield f"- {escape(item if cut is None else _cut(item, _SUMMARY_CELL))}"
    if len(items) > len(shown):
        yield f"- _…and {len(items) - len(shown):,} more._"
    yield ""


def _document(plan: Plan, title: str, verbose: bool, rows: int | None) -> Iterator[str]:
    """The lines of the document; ``rows`` None: every change, else the summarised form."""
    yield from (f"## {escape(title or DEFAULT_TITLE)}", "", f"**{escape(summary_line(plan))}**", "")
    if rows is not None:
        yield from (f"> This plan is summarised to fit in a comment. {SEE_ALL}", "")
    if plan.has_changes:
        yield from ("| Action | Count |", "| --- | ---: |")
        yield from (f"| {action} | {count} |" for action, count in plan.summary.items())
        yield ""
    for account, by_type in group_changes(plan.changes).items():
        for type_, changes in by_type.items():
            yield from (f"### {escape(account)} / {escape(type_)}", "")
            yield from (_table(changes) if rows is None else _summarised_table(changes, rows))
            yield ""
    cut = None if rows is None else _SUMMARY_ITEMS
    yield from _impact_table(plan, cut)
    if plan.warnings:
        yield from _listed("Warnings", warning_labels(plan.warnings, verbose=verbose), cut)
    if plan.errors:
        yield from _listed("Errors", [str(e) for e in plan.errors], cut)


def _join(lines: Iterator[str], limit: int | None) -> str | None:
    """The lines joined, ending with one newline; None as soon as the text exceeds ``limit``."""
    out: list[str] = []
    size = 0
    for line in lines:
        out.append(line)
        size += len(line) + 1
        if limit is not None and size > limit + 1:
            return None
    return "\n".join(out).rstrip("\n") + "\n"


def render_markdown(plan: Plan, *, title: str = "", verbose: bool = False, limit: int = LIMIT) -> str:
    """The plan as a Markdown document (ends with a newline); ``title`` defaults to "Reconciler plan".

    Longer than ``limit`` characters in full, the document is summarised (see the module docstring);
    it still names every account and type with its counts. Repeated warnings are collapsed unless
    ``verbose``.
    """
    full = _join(_document(plan, title, verbose, None), limit)
    if full is not None:
        return full
    for rows in _SUMMARY_ROWS:
        text = _join(_document(plan, title, verbose, rows), limit)
        if text is not None:
            return text
    # Even bare counts do not fit (thousands of account/type sections): keep every section anyway.
    return _join(_document(plan, title, verbose, 0), None) or ""
