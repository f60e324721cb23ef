"""Personal data masked in a drift report before it is rendered (Markdown, HTML, JUnit by default).

:func:`mask_report` walks every place a report can hold personal data: item keys (phone numbers),
live and declared values (names, numbers, e-mail addresses), notes, reasons, warnings and errors.
The masking itself is the :class:`Masker` given (the one of the safety rules); names seen in name
fields anywhere in the report are learnt first, so free text that mentions them is masked too.
"""

from __future__ import annotations

import re
from dataclasses import replace
from typing import Any, Protocol

from reconciler.drift.model import DriftReport, FieldDiff, Item


class Masker(Protocol):
    """What masking a report needs (implemented by the safety rules' masker)."""

    def learn(self, values: Any, path: str = "") -> None: ...

    def text(self, text: str) -> str: ...

    def value(self, value: Any, path: str = "") -> Any: ...


def _field(masker: Masker, diff: FieldDiff) -> FieldDiff:
    name = diff.path.rsplit(".", 1)[-1]
    return FieldDiff(diff.path, masker.value(diff.live, name), masker.value(diff.declared, name))


def _item(masker: Masker, item: Item) -> Item:
    return replace(
        item,
        key=masker.text(item.key),
        fields=tuple(_field(masker, f) for f in item.fields),
        live=None if item.live is None else masker.value(item.live),
        declared=None if item.declared is None else masker.value(item.declared),
        notes=tuple(masker.text(n) for n in item.notes),
    )


def mask_report(report: DriftReport, masker: Masker) -> DriftReport:
    """A copy of ``report`` with personal data masked; for rendering only."""
    for item in report.items:
        masker.learn(item.live)
        masker.learn(item.declared)
        for diff in item.fields:
            name = diff.path.rsplit(".", 1)[-1]
            masker.learn({name: diff.live})
            masker.learn({name: diff.declared})
    return replace(
        report,
        cells=tuple(
            replace(c, reason=masker.text(c.reason), known=masker.text(c.known)) for c in report.cells
        ),
        items=tuple(_item(masker, i) for i in report.items),
        errors=tuple(masker.text(e) for e in report.errors),
        warnings=tuple(masker.text(w) for w in report.warnings),
    )


_NUMBER = re.compile(r"(?<![\w+])\+\d{7,15}(?!\d)")
NAME_FIELDS = frozenset({"first_name", "last_name", "full_name", "contact_name"})
DOT = "\u2022"


class SimpleMasker:
    """Masks E.164 numbers (``+46 70•••••67``) and values of name fields (``A•••``)."""

    def __init__(self) -> None:
        self.names: set[str] = set()

    def learn(self, values: Any, path: str = "") -> None:
        if isinstance(values, dict):
            for name, value in values.items():
                self.learn(value, str(name))
        elif isinstance(values, list | tuple):
            for value in values:
                self.learn(value, path)
        elif isinstance(values, str) and path in NAME_FIELDS and values.strip():
            self.names.add(values.strip())

    @staticmethod
    def number(e164: str) -> str:
        digits = e164[1:]
        return f"+{digits[:4]}{DOT * max(len(digits) - 6, 3)}{digits[-2:]}"

    def text(self, text: str) -> str:
        out = _NUMBER.sub(lambda m: self.number(m.group()), text)
        for name in sorted(self.names, key=len, reverse=True):
            out = re.sub(rf"(?<!\w){re.escape(name)}(?!\w)", name[:1] + DOT * 3, out)
        return out

    def value(self, value: Any, path: str = "") -> Any:
        if isinstance(value, dict):
            return {k: self.value(v, str(k)) for k, v in value.items()}
        if isinstance(value, list | tuple):
            return [self.value(v, path) for v in value]
        if isinstance(value, str):
            return value[:1] + DOT * 3 if path in NAME_FIELDS and value.strip() else self.text(value)
        return value
