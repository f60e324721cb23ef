"""The drift report as text and as Markdown: the status grid, then the differences, then what to do.

Both formats say the same things with the same words (built here once): a grid of accounts by
types, one line per drifted item worded ``field: live has X, declared Y``, failed and not auditable
account/types with their reasons, and the steps that resolve each kind of finding. Values are
JSON-quoted and control characters escaped, so nothing from a provider can break a line or a table.
"""

from __future__ import annotations

import json
import re
from typing import Any

from reconciler.drift.model import Cell, DriftReport, Item, Kind, Status, cell_label, summary_sentence
from reconciler.render.text import flatten, printable

TITLE = "Drift report"
NOT_OFFERED = "-"  # the account's provider has no such type
SYMBOL = {Kind.CHANGED: "~", Kind.MISSING: "+", Kind.EXTRA: "-", Kind.UNMANAGED: "?"}
TREND_BLOCKS = "▁▂▃▄▅▆▇█"
VISIBLE_ROWS = 50  # Markdown: items shown per account/type before the rest folds into <details>
_MD_HEAD = "| Kind | Key | Details |\n| --- | --- | --- |"

_ENCODER = json.JSONEncoder(ensure_ascii=False, separators=(", ", ": "), sort_keys=True, default=str)
_MD_SPECIAL = re.compile(r"([\\`*_\[\]<>|~&#!])")


def value(data: Any) -> str:
    """A value as compact JSON (strings quoted); ``None`` reads ``(none)``."""
    return "(none)" if data is None else printable(_ENCODER.encode(data))


def grid_label(cell: Cell | None) -> str:
    """The short word(s) of a grid cell."""
    if cell is None:
        return NOT_OFFERED
    if cell.status is Status.DRIFTED:
        return f"drifted ({cell.drifted_items})"
    return cell.status.label


def item_lines(item: Item) -> list[str]:
    """Uncoloured detail lines of one drifted item (no indentation)."""
    lines = [f"{f.path}: live has {value(f.live)}, declared {value(f.declared)}" for f in item.fields]
    if item.kind is Kind.MISSING:
        lines.append("declared, missing live" + _attrs(item.declared, item.key, ": declared "))
    elif item.kind in (Kind.EXTRA, Kind.UNMANAGED):
        what = "apply deletes it" if item.kind is Kind.EXTRA else "apply leaves it alone"
        lines.append(f"live only, not declared ({what})" + _attrs(item.live, item.key, ": live has "))
    lines += [f"note: {note}" for note in item.notes]
    return [printable(line) for line in lines]


def _attrs(attrs: dict[str, Any] | None, key: str, lead: str) -> str:
    """``<lead>first_name "Per", last_name "Olsen"``: set attributes other than the key, or ""."""
    pairs = [f"{p} {value(v)}" for p, v in flatten(attrs or {}) if v not in (None, "", [], key)]
    return lead + ", ".join(pairs) if pairs else ""


def reason_text(cell: Cell) -> str:
    """Why a cell failed or is not auditable, and what the state file knows, as sentences."""
    text = cell.reason.rstrip(". ") + "."
    return f"{text} Known from state: {cell.known}." if cell.known else text


def item_title(item: Item) -> str:
    return f"{SYMBOL[item.kind]} {printable(item.key)} ({item.kind.label})"


def trend_text(cell: Cell) -> str:
    """``0 0 2 2 3`` (oldest first; ``?`` for runs that could not tell), or "" without history."""
    if len(cell.trend) < 2:
        return ""
    return " ".join("?" if n is None else str(n) for n in cell.trend)


def sparkline(trend: tuple[int | None, ...]) -> str:
    """A small bar per run (``▁▃█``; a space for runs that could not tell)."""
    top = max((n for n in trend if n is not None), default=0)
    bars = []
    for n in trend:
        if n is None:
            bars.append(" ")
        elif top == 0 or n == 0:
            bars.append(TREND_BLOCKS[0])
        else:
            bars.append(TREND_BLOCKS[max(1, round(n / top * (len(TREND_BLOCKS) - 1)))])
    return "".join(bars)


def cell_heading(cell: Cell) -> str:
    """``oslo / contacts: drifted: 1 changed (drifted since ...; trend: 0 1 1)``."""
    extra = []
    if cell.since:
        extra.append(f"drifted since {cell.since}")
    if trend_text(cell):
        extra.append(f"last {len(cell.trend)} runs: {trend_text(cell)}")
    tail = f" ({'; '.join(extra)})" if extra else ""
    return f"{printable(cell.account)} / {printable(cell.type)}: {cell_label(cell)}{tail}"


def advice(report: DriftReport) -> list[str]:
    """What to do, one sentence per kind of finding present (plain text, no markup)."""
    out = []
    fixable = [i for i in report.items if i.fixable and i.kind is not Kind.UNMANAGED]
    if fixable:
        out.append(
            "Run `reconciler apply` to restore the declared state, or change the YAML to accept the "
            "live one (apply creates missing items, rewrites changed ones and deletes extra ones)."
        )
    if any(not i.fixable for i in report.items):
        out.append(
            "Items noted as unsupported cannot be restored by apply: change the YAML to accept the "
            "live value, or fix it in the provider's web interface."
        )
    if any(i.kind is Kind.UNMANAGED for i in report.items):
        out.append(
            "Unmanaged live items are never touched: declare them in the YAML to manage them, add "
            "their type to the account's `prune` list to have apply delete them, or add an `ignore:` "
            "rule for them when another system owns them."
        )
    if report.count(Status.NOT_AUDITABLE):
        out.append(
            "Not auditable types cannot be listed by their provider: check them in the provider's web "
            "interface; the state file lists what the last apply made."
        )
    if report.count(Status.FAILED):
        out.append(
            "Fix the cause of each failed read (credentials, network, provider status) and run "
            "`reconciler drift` again."
        )
    if report.errors:
        out.append("Fix the errors listed above and run `reconciler drift` again.")
    return out or ["Nothing to do: the live accounts match the configuration."]


def _meta(report: DriftReport) -> str:
    revision = report.revision or "unknown"
    return f"Checked at {report.checked_at}; config revision {printable(revision)}."


def _grid_rows(report: DriftReport) -> list[list[str]]:
    rows = [["account", *report.types]]
    for account in report.accounts:
        rows.append([account, *(grid_label(report.cell(account, t)) for t in report.types)])
    return rows


def render_text(report: DriftReport) -> str:
    """The report as plain text, ending with a newline."""
    out = [TITLE, _meta(report), ""]
    rows = [[printable(c) for c in row] for row in _grid_rows(report)]
    if report.cells:
        widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
        out += ["  ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)).rstrip() for row in rows]
        out.append("")
    out += [summary_sentence(report), ""]
    drifted = [c for c in report.cells if c.status is Status.DRIFTED]
    if drifted:
        out += ["Differences:", ""]
        for cell in drifted:
            out.append(cell_heading(cell))
            for item in report.items_of(cell):
                out.append("  " + item_title(item))
                out += ["      " + line for line in item_lines(item)]
            out.append("")
    for status, heading in ((Status.FAILED, "Failed:"), (Status.NOT_AUDITABLE, "Not auditable:")):
        cells = [c for c in report.cells if c.status is status]
        if cells:
            out.append(heading)
            for cell in cells:
                where = f"{printable(cell.account)} / {printable(cell.type)}"
                out.append(f"  {where}: {printable(reason_text(cell))}")
            out.append("")
    out += [f"Warning: {printable(w)}" for w in report.warnings]
    out += [f"Error: {printable(e)}" for e in report.errors]
    if report.warnings or report.errors:
        out.append("")
    out += ["What to do:", *(f"  - {line}" for line in advice(report))]
    return "\n".join(out) + "\n"


def md(text: str) -> str:
    """``text`` made literal for a Markdown table cell or list item (one line)."""
    return _MD_SPECIAL.sub(r"\\\1", printable(text))


def _md_table(rows: list[list[str]]) -> list[str]:
    head, *body = rows
    out = ["| " + " | ".join(md(c) for c in head) + " |", "|" + " --- |" * len(head)]
    out += ["| " + " | ".join(md(c) for c in row) + " |" for row in body]
    return out


def render_markdown(report: DriftReport) -> str:
    """The report as GitHub-flavoured Markdown, ending with a newline."""
    out = [f"## {TITLE}", "", md(_meta(report)), ""]
    if report.cells:
        out += [*_md_table(_grid_rows(report)), ""]
    out += [f"**{md(summary_sentence(report))}**", ""]
    drifted = [c for c in report.cells if c.status is Status.DRIFTED]
    if drifted:
        out += ["### Differences", ""]
        for cell in drifted:
            out += [f"#### {md(cell_heading(cell))}", ""]
            rows = [_md_item(item) for item in report.items_of(cell)]
            out += [_MD_HEAD, *rows[:VISIBLE_ROWS], ""]
            if rows[VISIBLE_ROWS:]:
                rest = rows[VISIBLE_ROWS:]
                out += [
                    f"<details><summary>{len(rest)} more</summary>",
                    "",
                    _MD_HEAD,
                    *rest,
                    "",
                    "</details>",
                    "",
                ]
    for status, heading in ((Status.FAILED, "Failed"), (Status.NOT_AUDITABLE, "Not auditable")):
        cells = [c for c in report.cells if c.status is status]
        if cells:
            out += [f"### {heading}", ""]
            for cell in cells:
                out.append(f"- **{md(cell.account)} / {md(cell.type)}**: {md(reason_text(cell))}")
            out.append("")
    if report.warnings:
        out += ["### Warnings", "", *(f"- {md(w)}" for w in report.warnings), ""]
    if report.errors:
        out += ["### Errors", "", *(f"- {md(e)}" for e in report.errors), ""]
    out += ["### What to do", "", *(f"- {_code(line)}" for line in advice(report))]
    return "\n".join(out) + "\n"


def _md_item(item: Item) -> str:
    lines = "<br>".join(md(line) for line in item_lines(item))
    return f"| {md(item.kind.label)} | {md(item.key)} | {lines} |"


def _code(line: str) -> str:
    """Advice is our own text: keep its backticks as code, escape the rest."""
    parts = line.split("`")
    return "".join(f"`{p}`" if i % 2 else md(p) for i, p in enumerate(parts))
