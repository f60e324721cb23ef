"""Terraform-like text rendering of a Plan, and the wording shared by every human format.

Layout (one block per account, changes grouped by type in first-appearance order, plan order
within a type)::

    Account se-main:
      + contacts +46701234567
          + first_name: "John"
      ~ contacts +46701234568
          first_name: "Jon" -> "John"
      - groups Old
    -/+ campaigns winter-sale
          # why: sent campaigns can't be edited
      ! reminders anna (unsupported)
          # why: ...
      + campaigns winter-sale
          ...
          # impact: 1,204 recipients, GSM-7, 2 segments each, 2,408 SMS, 108.36 SEK

    Send impact:
      se-main: 1 campaign, 2,408 SMS to 1,204 recipients, 108.36 SEK

    Warning: uk/phone_lists/VIP customers: ...
    Error: ...

    Plan: 1 to create, 1 to update, 1 to delete, 1 to replace, 1 unsupported.

Values are JSON-quoted (so newlines and control characters never break a line), nested paths
are dotted, lists are inline. Everything is built as a list of strings joined once, so rendering
is linear in the size of the plan. The helpers :func:`group_changes`, :func:`details`,
:func:`warning_label`, :func:`summary_line` and :func:`format_value` are the uncoloured building
blocks the markdown, html and junit renderers reuse, so all formats say the same thing.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from reconciler.changes import Action, Change
from reconciler.escapes import UNSAFE
from reconciler.model import get_path
from reconciler.plan import Plan, Warning_
from reconciler.render.impact import impact_text, totals
from reconciler.types import TYPES

NO_CHANGES = "No changes. The accounts match the configuration."
# A delete lists the attributes of the removed item only when it has at most this many.
SMALL_DELETE = 3

_ENCODER = json.JSONEncoder(ensure_ascii=False, separators=(", ", ": "), sort_keys=True, default=str)
_CONTROL = UNSAFE  # controls, bidi and invisible format characters
_MISSING = object()

# ANSI SGR codes; only used when colour is asked for.
_RESET = "\x1b[0m"
_STYLE = {
    "+": "\x1b[32m",  # green
    "~": "\x1b[33m",  # yellow
    "-": "\x1b[31m",  # red
    "!": "\x1b[35m",  # magenta
    "#": "\x1b[2m",  # dim
    "warning": "\x1b[1;33m",
    "error": "\x1b[1;31m",
    "bold": "\x1b[1m",
}


@dataclass(frozen=True)
class Detail:
    """One uncoloured detail line of a change.

    ``sign`` is ``+`` (attribute of a created item), ``-`` (attribute of a deleted item), ``~``
    (a changed field: ``text`` reads ``path: before -> after``) or ``#`` (the reason).
    """

    sign: str
    text: str


def format_value(value: Any) -> str:
    """``value`` as compact single-line JSON (strings quoted, mappings with sorted keys)."""
    return _ENCODER.encode(value)


def printable(text: str) -> str:
    """``text`` with control characters (newlines, ANSI escapes) shown as escapes (``\\u000a``)."""
    return _CONTROL.sub(lambda m: f"\\u{ord(m.group()):04x}", text)


def group_changes(changes: Iterable[Change]) -> dict[str, dict[str, list[Change]]]:
    """Changes by account, then type; accounts and types in first-appearance order, plan order within."""
    by_account: dict[str, dict[str, list[Change]]] = {}
    for change in changes:
        by_account.setdefault(change.account, {}).setdefault(change.type, []).append(change)
    return by_account


def flatten(attrs: Mapping[str, Any], prefix: str = "") -> list[tuple[str, Any]]:
    """``(dotted path, value)`` pairs of ``attrs``, sorted; nested mappings are walked, lists kept whole."""
    items: list[tuple[str, Any]] = []
    for name in sorted(attrs, key=str):
        value = attrs[name]
        path = f"{prefix}{name}"
        if isinstance(value, Mapping) and value:
            items.extend(flatten(value, path + "."))
        else:
            items.append((path, value))
    return items


def _lookup(attrs: Mapping[str, Any] | None, path: str) -> Any:
    """The value at ``path``: a literal dotted member first (``{"a.b": 1}``), else nested; or _MISSING."""
    if attrs is None:
        return _MISSING
    if path in attrs:
        return attrs[path]
    return get_path(attrs, path, _MISSING)


def _shown(value: Any) -> str:
    return "(none)" if value is _MISSING else format_value(value)


def _attribute_details(sign: str, change: Change, attrs: Mapping[str, Any]) -> list[Detail]:
    # The key is on the change's own line; repeating it as an attribute is noise. A sub-resource's
    # key (e.g. group|contact) is all there is to it.
    record = TYPES.get(change.type)
    if record is not None and record.sub is not None:
        return []
    return [
        Detail(sign, f"{printable(path)}: {format_value(value)}")
        for path, value in flatten(attrs)
        if "." in path or value != change.key
    ]


def _changed_paths(change: Change) -> list[str]:
    if change.fields:
        return list(change.fields)
    before = dict(flatten(change.before or {}))
    after = dict(flatten(change.after or {}))
    paths = sorted(set(before) | set(after))
    return [p for p in paths if before.get(p, _MISSING) != after.get(p, _MISSING)]


def details(change: Change) -> list[Detail]:
    """The detail lines of ``change``: its reason, then field changes or attributes.

    Updates (and replace/unsupported changes with both sides) list each changed path as
    ``path: before -> after``; creates list every attribute; deletes list the removed attributes
    only when there are at most :data:`SMALL_DELETE` of them.
    """
    lines: list[Detail] = []
    if change.reason:
        lines.append(Detail("#", f"why: {printable(change.reason)}"))
    if change.before is not None and change.after is not None:
        for path in _changed_paths(change):
            old = _shown(_lookup(change.before, path))
            new = _shown(_lookup(change.after, path))
            lines.append(Detail("~", f"{printable(path)}: {old} -> {new}"))
    elif change.after is not None:
        lines.extend(_attribute_details("+", change, change.after))
    elif change.before is not None and change.action is not Action.DELETE:
        lines.extend(_attribute_details("-", change, change.before))
    elif change.before is not None:
        removed = _attribute_details("-", change, change.before)
        if len(removed) <= SMALL_DELETE:
            lines.extend(removed)
    if change.impact:
        lines.append(Detail("#", f"impact: {printable(impact_text(change.impact))}"))
    return lines


def change_label(change: Change) -> str:
    """``type key`` of a change, with ``(unsupported)`` appended for unsupported ones."""
    label = f"{printable(change.type)} {printable(change.key)}"
    if change.action is Action.UNSUPPORTED:
        label += " (unsupported)"
    return label


def warning_label(warning: Warning_) -> str:
    """``account/type/key: message``, leaving out empty address parts."""
    address = "/".join(printable(p) for p in (warning.account, warning.type, warning.key) if p)
    message = printable(warning.message)
    return f"{address}: {message}" if address else message


# A collapsed warning names this many of its items before the count of the rest.
NAMED_ITEMS = 3


def warning_labels(warnings: Iterable[Warning_], *, verbose: bool = False) -> list[str]:
    """One label per warning when ``verbose``; otherwise warnings that say the same thing about
    several items of one account and type (``unmanaged: ...`` for 300 phone lists) collapse into
    one line with the count and the first few keys, in first-appearance order."""
    if verbose:
        return [warning_label(w) for w in warnings]
    groups: dict[tuple[str, str, str], list[Warning_]] = {}
    for warning in warnings:
        groups.setdefault((warning.account, warning.type, warning.message), []).append(warning)
    out: list[str] = []
    for (account, type_, message), same in groups.items():
        if len(same) == 1:
            out.append(warning_label(same[0]))
            continue
        keys = [printable(w.key) for w in same[:NAMED_ITEMS]]
        rest = len(same) - len(keys)
        named = ", ".join(keys) + (f" and {rest:,} more; -v lists them all" if rest else "")
        address = "/".join(printable(p) for p in (account, type_) if p)
        out.append(f"{address}: {len(same):,} items: {printable(message)} ({named})")
    return out


def summary_line(plan: Plan) -> str:
    """``Plan: N to create, ...`` or the no-changes sentence."""
    if not plan.has_changes:
        return NO_CHANGES
    s = plan.summary
    return (
        f"Plan: {s['create']} to create, {s['update']} to update, {s['delete']} to delete, "
        f"{s['replace']} to replace, {s['unsupported']} unsupported."
    )


class _Painter:
    """Wraps text in ANSI codes, or leaves it alone when colour is off."""

    def __init__(self, color: bool) -> None:
        self.color = color

    def __call__(self, style: str, text: str) -> str:
        return f"{_STYLE[style]}{text}{_RESET}" if self.color else text

    def symbol(self, action: Action) -> str:
        if action is Action.REPLACE:
            return f"{self('-', '-')}/{self('+', '+')}" if self.color else "-/+"
        return self(action.symbol[0], action.symbol)


_PAINTERS = {False: _Painter(False), True: _Painter(True)}


def change_lines(change: Change, *, color: bool = False) -> list[str]:
    """The lines of one change: ``  + type key`` then its indented details (no newlines)."""
    paint = _PAINTERS[color]
    pad = " " * (3 - len(change.action.symbol))
    out = [f"{pad}{paint.symbol(change.action)} {change_label(change)}"]
    for detail in details(change):
        if detail.sign == "#":
            out.append("      " + paint("#", "# " + detail.text))
        elif detail.sign == "~":
            out.append("      " + detail.text)
        else:
            out.append(f"      {paint(detail.sign, detail.sign)} {detail.text}")
    return out


def render_text(plan: Plan, *, color: bool = False, verbose: bool = False) -> str:
    """The plan as Terraform-like text, ANSI-coloured when ``color``; ends with a newline. Repeated
    warnings are collapsed (see :func:`warning_labels`) unless ``verbose``."""
    paint = _PAINTERS[color]
    out: list[str] = []
    for account, by_type in group_changes(plan.changes).items():
        out.append(f"Account {printable(account)}:")
        for changes in by_type.values():
            for change in changes:
                out.extend(change_lines(change, color=color))
        out.append("")
    sums = totals(plan.changes)
    if sums:
        out += ["Send impact:", *(f"  {printable(str(total))}" for total in sums), ""]
    for label in warning_labels(plan.warnings, verbose=verbose):
        out.append(f"{paint('warning', 'Warning:')} {label}")
    for error in plan.errors:
        out.append(f"{paint('error', 'Error:')} {printable(str(error))}")
    if plan.warnings or plan.errors:
        out.append("")
    summary = summary_line(plan)
    out.append(paint("bold", summary) if plan.has_changes else summary)
    return "\n".join(out) + "\n"
