"""Ignore rules: live items and fields of a shared account that this tool leaves alone.

An account shared with another system (a sign-up form adding contacts, a colleague's campaigns)
lists them under ``ignore:``; they are taken out of the live state right after it is read, so
plan, drift and export never see them: no change, no ``unmanaged`` warning, no delete even where
the type is pruned. Declaring a hidden item or an ignored field is a config error (see
:mod:`reconciler.config.validate`), so the desired side never holds them.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from fnmatch import fnmatchcase

from reconciler.config.types import IgnoreRule
from reconciler.model import Resource
from reconciler.types import TYPES, SubResource


def hiding_rule(rules: Iterable[IgnoreRule], type_: str, key: str) -> IgnoreRule | None:
    """The first rule that hides the item ``type_``/``key`` entirely (``key`` glob, no ``fields``)."""
    for rule in rules:
        if rule.type == type_ and rule.key is not None and not rule.fields and fnmatchcase(key, rule.key):
            return rule
    return None


def field_rules(rules: Iterable[IgnoreRule], type_: str, key: str) -> dict[str, IgnoreRule]:
    """The fields of item ``type_``/``key`` that rules leave out, each with the first rule doing so."""
    out: dict[str, IgnoreRule] = {}
    for rule in rules:
        if rule.type != type_ or not rule.fields:
            continue
        if rule.key is not None and not fnmatchcase(key, rule.key):
            continue
        for name in rule.fields:
            out.setdefault(name, rule)
    return out


def _hidden_sub_item(rules: tuple[IgnoreRule, ...], sub: SubResource, item: Resource) -> bool:
    """A sub-item (a membership) of a hidden parent, or naming a hidden item (its group), is hidden."""
    name = str(item.attrs.get(sub.name_attr) or "")
    parent = str(item.attrs.get(sub.parent_attr) or "")
    return (
        hiding_rule(rules, sub.cascade, name) is not None
        or hiding_rule(rules, sub.parent, parent) is not None
    )


def filter_live(rules: tuple[IgnoreRule, ...], type_: str, items: Iterable[Resource]) -> list[Resource]:
    """``items`` without the hidden ones, and without ignored fields; the rest unchanged (not copied).

    Items of a sub-resource type (memberships) are hidden with the item they belong to or name, so
    a contact the form put in a hidden group keeps that membership.
    """
    spec = TYPES.get(type_)
    sub = spec.sub if spec is not None else None
    related = {type_} | ({sub.parent, sub.cascade} if sub is not None else set())
    if not any(rule.type in related for rule in rules):
        return list(items)
    kept = []
    for item in items:
        if hiding_rule(rules, type_, item.key) is not None:
            continue
        if sub is not None and _hidden_sub_item(rules, sub, item):
            continue
        ignored = field_rules(rules, type_, item.key)
        if ignored and any(name in item.attrs for name in ignored):
            attrs: Mapping[str, object] = {k: v for k, v in item.attrs.items() if k not in ignored}
            item = Resource(item.account, item.type, item.key, attrs, item.ident, item.origin)
        kept.append(item)
    return kept
