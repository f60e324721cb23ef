"""Wording of the send impact of campaign changes, shared by the text, Markdown and HTML plans.

A change's ``impact`` (see :mod:`reconciler.sms.audience`) becomes one line such as
``1,204 recipients (2 opted out, excluded), GSM-7, 2 segments each, 2,408 SMS, 108.36 SEK``;
:func:`totals` sums the impacts of a plan per account and currency. See docs/messages.md.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from reconciler.changes import Change


def _count(value: Any) -> int:
    return value if isinstance(value, int) and not isinstance(value, bool) else 0


def _plural(count: int, word: str) -> str:
    return f"{count:,} {word}{'' if count == 1 else 's'}"


def money(amount: Any, currency: Any) -> str:
    """``108.36 SEK``: two decimals at least, more when the amount has them."""
    value = (
        Decimal(str(amount))
        if isinstance(amount, (int, float)) and not isinstance(amount, bool)
        else Decimal(0)
    )
    shown = f"{value:,.2f}" if value == value.quantize(Decimal("0.01")) else f"{value.normalize():,f}"
    return f"{shown} {currency}"


def impact_text(impact: Mapping[str, Any]) -> str:
    """One line saying what a change will send (see the module docstring)."""
    recipients = _plural(_count(impact.get("recipients")), "recipient")
    notes = []
    excluded = _count(impact.get("excluded"))
    if excluded:
        notes.append(f"{excluded:,} opted out, excluded")
    if impact.get("exact") is False:
        recipients = f"at least {recipients}"
        notes.append("members added outside the tool not counted")
    if notes:
        recipients += f" ({'; '.join(notes)})"
    parts = [
        recipients,
        str(impact.get("encoding") or "?"),
        f"{_plural(_count(impact.get('segments')), 'segment')} each",
        f"{_count(impact.get('total_sms')):,} SMS",
    ]
    cost = impact.get("cost")
    if isinstance(cost, Mapping):
        parts.append(money(cost.get("amount"), cost.get("currency")))
    return ", ".join(parts)


@dataclass
class Total:
    """The summed impact of one account's campaign changes."""

    account: str
    campaigns: int = 0
    total_sms: int = 0
    recipients: int = 0
    cost: dict[str, Decimal] = field(default_factory=dict)  # currency -> amount

    def __str__(self) -> str:
        text = (
            f"{self.account}: {_plural(self.campaigns, 'campaign')}, {self.total_sms:,} SMS to "
            f"{_plural(self.recipients, 'recipient')}"
        )
        costs = [money(float(amount), currency) for currency, amount in sorted(self.cost.items())]
        return text + (f", {' + '.join(costs)}" if costs else "")


def with_impact(changes: Iterable[Change]) -> list[Change]:
    """The changes that carry an impact, in plan order."""
    return [c for c in changes if c.impact]


def totals(changes: Iterable[Change]) -> list[Total]:
    """Per account, in first-appearance order: campaigns, SMS, recipients and cost per currency."""
    out: dict[str, Total] = {}
    for change in with_impact(changes):
        impact = change.impact or {}
        total = out.setdefault(change.account, Total(change.account))
        total.campaigns += 1
        total.total_sms += _count(impact.get("total_sms"))
        total.recipients += _count(impact.get("recipients"))
        cost = impact.get("cost")
        if isinstance(cost, Mapping) and isinstance(cost.get("amount"), (int, float)):
            currency = str(cost.get("currency") or "")
            total.cost[currency] = total.cost.get(currency, Decimal(0)) + Decimal(str(cost["amount"]))
    return list(out.values())
