"""The plan as GitHub-flavoured Markdown for pull-request comments.

A heading, the summary line, an ``action | count`` table, then one table per account and type
(``action | key | changes``), then warnings and errors as lists. Every value is escaped so that
``|``, backticks, ``*``, ``_``, ``<`` and friends render literally and can't break the tables.
A table longer than :data:`VISIBLE_ROWS` shows its first rows and folds the rest into
``<details>``.
"""

from __future__ import annotations

import re

from reconciler.changes import Change
from reconciler.plan import Plan
from reconciler.render.impact import impact_text, totals, with_impact
from reconciler.render.text import details, group_changes, printable, summary_line, warning_label

VISIBLE_ROWS = 50
DEFAULT_TITLE = "Reconciler plan"

# CommonMark lets a backslash escape any ASCII punctuation; these are the ones that can start
# markup inline or inside a table cell (``>`` only matters at the start of a line).
_SPECIAL = re.compile(r"([\\`*_\[\]<|~&#!])")
_TABLE_HEAD = "| Action | Key | Changes |\n| --- | --- | --- |"


def escape(text: str) -> str:
    """``text`` made literal for a Markdown table cell or list item (one line)."""
    return _SPECIAL.sub(r"\\\1", printable(text))


def _row(change: Change) -> str:
    symbol = change.action.symbol
    action = f"`{symbol}` {change.action.value}"
    cells = []
    for detail in details(change):
        if detail.sign == "#":
            cells.append(f"_{escape(detail.text)}_")
        elif detail.sign in "+-":
            cells.append(f"`{detail.sign}` {escape(detail.text)}")
        else:
            cells.append(escape(detail.text))
    return f"| {action} | {escape(change.key)} | {'<br>'.join(cells)} |"


def _table(changes: list[Change]) -> list[str]:
    rows = [_row(c) for c in changes]
    out = [_TABLE_HEAD, *rows[:VISIBLE_ROWS]]
    rest = rows[VISIBLE_ROWS:]
    if rest:
        out += ["", f"<details><summary>{len(rest)} more</summary>", "", _TABLE_HEAD, *rest, "", "</details>"]
    return out


def _impact_table(plan: Plan) -> list[str]:
    """``### Send impact``: one row per campaign change that sends, then the totals per account."""
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
        for c in sending
    ]
    out += ["", *(f"- **{escape(str(total))}**" for total in totals(sending)), ""]
    return out


def render_markdown(plan: Plan, *, title: str = "") -> str:
    """The plan as a Markdown document (ends with a newline); ``title`` defaults to "Reconciler plan"."""
    out = [f"## {escape(title or DEFAULT_TITLE)}", "", f"**{escape(summary_line(plan))}**", ""]
    if plan.has_changes:
        out += ["| Action | Count |", "| --- | ---: |"]
        out += [f"| {action} | {count} |" for action, count in plan.summary.items()]
        out.append("")
    for account, by_type in group_changes(plan.changes).items():
        for type_, changes in by_type.items():
            out += [f"### {escape(account)} / {escape(type_)}", "", *_table(changes), ""]
    out += _impact_table(plan)
    if plan.warnings:
        out += ["### Warnings", ""]
        out += [f"- {escape(warning_label(w))}" for w in plan.warnings]
        out.append("")
    if plan.errors:
        out += ["### Errors", ""]
        out += [f"- {escape(str(e))}" for e in plan.errors]
        out.append("")
    return "\n".join(out).rstrip("\n") + "\n"
