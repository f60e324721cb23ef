"""Plan-time audience checks and send impact of message items (campaigns), from declared data.

For each message item of an account whose provider declares :class:`~reconciler.sms.rules.Sending`:
its recipients are expanded (direct numbers, and through the declared expansions the members of
groups or the numbers of phone lists, desired and live), then compared with the account's
opt-outs (items of the declared opt-out types, declared or live, plus what the provider reports,
such as SMSConnector STOPs). An opted-out recipient is an error naming the campaign and the
masked number, unless the item sets ``exclude_opted_out: true``: then the recipient is left out
(by the provider for the recipient kinds it filters itself, by the tool for direct numbers) and
counted in the plan. The impact of each item (recipients, encoding, segments, total SMS and cost)
is attached to its changes. Pure: no network, no provider or type names. See docs/messages.md.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from reconciler.changes import Action
from reconciler.errors import Problem
from reconciler.model import Resource, get_path
from reconciler.plan import Plan
from reconciler.sms.encoding import encode
from reconciler.sms.rules import Expansion, Policy, Sending

if TYPE_CHECKING:
    from reconciler.providers.base import Capability

Items = Mapping[str, Resource]
# Changes that (re)send a message item and so carry its impact.
SENDING_ACTIONS = (Action.CREATE, Action.REPLACE, Action.UPDATE)
SHOWN = 3  # opted-out numbers named in one problem


@dataclass
class Audit:
    """What the audience check found for one account.

    ``desired`` holds the message items as the planner should see them (policy keys removed,
    excluded direct numbers dropped); ``impacts`` the impact object per item key.
    """

    desired: dict[str, Resource] = field(default_factory=dict)
    impacts: dict[str, dict[str, Any]] = field(default_factory=dict)
    problems: list[Problem] = field(default_factory=list)


def _problem(item: Resource, message: str) -> Problem:
    origin = item.origin
    return Problem(
        message, origin.path if origin else "", origin.line if origin else 0, origin.col if origin else 0
    )


def opt_outs(
    sending: Sending, desired: Mapping[str, Items], live: Mapping[str, Items], reported: Mapping[str, str]
) -> dict[str, str]:
    """Opted-out numbers -> why: ``reported`` by the provider, then items of the opt-out types."""
    opted = dict(reported)
    for type_ in sending.opt_out_types:
        for key in live.get(type_, {}):
            opted.setdefault(key, f"is on the {type_}")
        for key in desired.get(type_, {}):
            opted.setdefault(key, f"is declared in the {type_}")
    return opted


def _members(
    expansion: Expansion, desired: Mapping[str, Items], live: Mapping[str, Items], append_only: bool
) -> dict[str, set[str]]:
    """Name -> numbers it reaches through ``expansion`` once the plan is applied."""
    members: dict[str, set[str]] = {}
    wanted = desired.get(expansion.type, {})
    sources: list[Iterable[Resource]] = [wanted.values()]
    if expansion.member_of:
        # Live members the config does not declare keep their membership (they are not managed).
        sources.append(r for k, r in live.get(expansion.type, {}).items() if k not in wanted)
    elif append_only:
        sources.append(live.get(expansion.type, {}).values())
    plain = "." not in expansion.number and "." not in expansion.member_of  # the usual case, faster
    for items in sources:
        for item in items:
            attrs = item.attrs
            value = attrs.get(expansion.number) if plain else get_path(attrs, expansion.number)
            if not value:
                continue
            if not expansion.member_of:
                names: Any = (item.key,)
            else:
                names = attrs.get(expansion.member_of) if plain else get_path(attrs, expansion.member_of)
            for name in names or ():
                found = members.setdefault(str(name), set())
                if isinstance(value, list):
                    found.update(str(n) for n in value)
                else:
                    found.add(str(value))
    return members


def _cost(total: int, policy: Policy) -> dict[str, Any] | None:
    if policy.price is None:
        return None
    amount = (policy.price.amount * total).quantize(Decimal("0.0001")).normalize()
    return {"amount": float(amount), "currency": policy.price.currency}


def impact(text: str, recipients: int, excluded: int, exact: bool, policy: Policy) -> dict[str, Any]:
    """The impact object of one message item (see the plan schema's ``impact``)."""
    encoded = encode(text)
    total = recipients * encoded.segments
    data: dict[str, Any] = {
        "recipients": recipients,
        "excluded": excluded,
        "exact": exact,
        "encoding": encoded.encoding,
        "characters": encoded.characters,
        "segments": encoded.segments,
        "total_sms": total,
    }
    cost = _cost(total, policy)
    if cost is not None:
        data["cost"] = cost
    return data


def audit(
    sending: Sending,
    policy: Policy,
    capabilities: Mapping[str, Capability],
    desired: Mapping[str, Items],
    live: Mapping[str, Items],
    opted: Mapping[str, str],
    mask: Callable[[str], str],
) -> Audit:
    """Expand, check and measure every message item of one account (see the module docstring).

    ``desired`` and ``live`` map type -> key -> Resource for the account; ``opted`` is
    :func:`opt_outs`; ``mask`` masks a number in an error (:func:`reconciler.pii.number_masker`).
    Nothing passed in is mutated.
    """
    out = Audit()
    expansions = []
    for expansion in sending.expansions:
        cap = capabilities.get(expansion.type)
        append_only = cap is not None and expansion.number in cap.append_only_fields
        listable = cap is not None and cap.list.ok
        expansions.append((expansion, _members(expansion, desired, live, append_only), listable))
    for key, item in desired.get(sending.type, {}).items():
        attrs = {k: v for k, v in item.attrs.items() if k not in sending.policy_fields}
        direct = {str(n) for n in get_path(item.attrs, sending.numbers) or ()}
        reach = set(direct)
        stuck: set[str] = set()  # reached where neither the provider nor the tool can leave them out
        exact = True
        for expansion, members, listable in expansions:
            names = get_path(item.attrs, expansion.path) or ()
            exact = exact and (listable or not names)
            for name in names:
                numbers = members.get(str(name), set())
                reach |= numbers
                if not expansion.filtered:
                    stuck |= numbers
        hit = sorted(n for n in reach if n in opted)
        exclude = item.attrs.get("exclude_opted_out") is True
        if hit and not sending.inactive(item.attrs):
            out.problems += _opted_out_problems(item, hit, stuck, opted, exclude, mask)
        dropped = sorted(n for n in hit if exclude and n in direct and not sending.numbers_filtered)
        if dropped:
            kept = sorted(direct - set(dropped))
            attrs = _with_path(attrs, sending.numbers, kept)
        recipients = len(reach) - (len(hit) if exclude else 0)
        if exclude and not recipients and not sending.inactive(item.attrs):
            out.problems.append(
                _problem(
                    item,
                    (
                        f"campaign {key!r}: every recipient opted out, so nothing would be sent "
                        "(remove the campaign)"
                    ),
                )
            )
        out.desired[key] = Resource(item.account, item.type, item.key, attrs, item.ident, item.origin)
        text = item.attrs.get("text")
        out.impacts[key] = impact(str(text or ""), recipients, len(hit) if exclude else 0, exact, policy)
    return out


def _opted_out_problems(
    item: Resource,
    hit: list[str],
    stuck: set[str],
    opted: Mapping[str, str],
    exclude: bool,
    mask: Callable[[str], str],
) -> list[Problem]:
    if exclude:
        kept = [n for n in hit if n in stuck]
        if not kept:
            return []
        named = _named(kept, opted, mask)
        return [
            _problem(
                item,
                (
                    f"campaign {item.key!r}: {named}; the provider sends to every member of "
                    "these recipients, so exclude_opted_out cannot leave them out (remove them from the "
                    "group or list)"
                ),
            )
        ]
    return [
        _problem(
            item,
            (
                f"campaign {item.key!r} would send to {len(hit)} recipient{'s' if len(hit) != 1 else ''} "
                f"who opted out: {_named(hit, opted, mask)} (remove them from its recipients, or set "
                "exclude_opted_out: true to leave them out)"
            ),
        )
    ]


def _named(numbers: list[str], opted: Mapping[str, str], mask: Callable[[str], str]) -> str:
    shown = [f"{mask(n)} {opted[n]}" for n in numbers[:SHOWN]]
    more = len(numbers) - SHOWN
    return ", ".join(shown) + (f" and {more} more" if more > 0 else "")


def _with_path(attrs: Mapping[str, Any], path: str, value: Any) -> dict[str, Any]:
    """``attrs`` with ``path`` set to ``value`` (removed when ``value`` is empty)."""
    head, _, rest = path.partition(".")
    out = dict(attrs)
    if not rest:
        out[head] = value
        if not value:
            del out[head]
    else:
        out[head] = _with_path(attrs.get(head) or {}, rest, value)
    return out


def attach(plan: Plan, impacts: Mapping[tuple[str, str, str], Mapping[str, Any]]) -> Plan:
    """``plan`` with the impact of ``(account, type, key)`` on each change that (re)sends it."""
    if not impacts:
        return plan
    changes = tuple(
        dataclasses.replace(c, impact=dict(impacts[(c.account, c.type, c.key)]))
        if c.action in SENDING_ACTIONS and (c.account, c.type, c.key) in impacts
        else c
        for c in plan.changes
    )
    return dataclasses.replace(plan, changes=changes)
