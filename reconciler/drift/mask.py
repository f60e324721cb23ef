"""Personal data masked in a drift report before it is rendered (Markdown, HTML, JUnit by default).

:func:`mask_report` walks every place a report can hold personal data: item keys (phone numbers),
live and declared values (names, numbers, e-mail addresses), notes, reasons, warnings and errors.
The masking itself is :class:`reconciler.pii.Masker` (see ``docs/pii.md``); names seen in name
fields anywhere in the report are learnt first, so free text that mentions them is masked too.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any, Protocol

from reconciler.drift.model import DriftReport, FieldDiff, Item


class Masker(Protocol):
    """What masking a report needs (:class:`reconciler.pii.Masker` implements it)."""

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
