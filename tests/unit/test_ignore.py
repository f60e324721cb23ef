"""Ignore rules on live items: key globs hide items, field lists drop fields, both combine."""

from __future__ import annotations

from pathlib import Path

from reconciler.config.load import load_config
from reconciler.config.types import IgnoreRule
from reconciler.ignore import field_rules, filter_live, hiding_rule
from reconciler.model import Resource


def _contact(key: str, **attrs: str) -> Resource:
    return Resource("se", "contacts", key, {"mobile": key, **attrs}, ident=key[-2:])


def test_key_glob_hides_matching_items_of_its_type_only() -> None:
    """A key rule hides the contacts whose key matches; other keys and other types stay."""
    rules = (IgnoreRule("contacts", key="+4673*"),)
    items = [_contact("+46731111111"), _contact("+46701111111")]
    assert [r.key for r in filter_live(rules, "contacts", items)] == ["+46701111111"]
    assert hiding_rule(rules, "groups", "+46731111111") is None
    assert filter_live(rules, "groups", items) == items


def test_field_rules_drop_fields_and_keep_the_item() -> None:
    """A fields rule removes those attributes from every item; with a key, from matching items only."""
    rules = (
        IgnoreRule("contacts", fields=("description",)),
        IgnoreRule("contacts", key="+4670*", fields=("email",)),
    )
    kept = filter_live(rules, "contacts", [_contact("+46701111111", description="d", email="e@x.se")])
    assert kept[0].attrs == {"mobile": "+46701111111"} and kept[0].ident == "11"
    other = filter_live(rules, "contacts", [_contact("+46731111111", description="d", email="e@x.se")])
    assert other[0].attrs == {"mobile": "+46731111111", "email": "e@x.se"}
    assert set(field_rules(rules, "contacts", "+46701111111")) == {"description", "email"}


def test_a_key_rule_with_fields_does_not_hide_the_item() -> None:
    """{type, key, fields} only drops fields: the item itself stays in the plan."""
    rules = (IgnoreRule("contacts", key="*", fields=("description",)),)
    assert hiding_rule(rules, "contacts", "+46701111111") is None
    assert len(filter_live(rules, "contacts", [_contact("+46701111111")])) == 1


def test_memberships_of_hidden_groups_and_contacts_are_hidden() -> None:
    """A membership naming a hidden group, or belonging to a hidden contact, is hidden with it."""
    rules = (IgnoreRule("groups", key="Form *"), IgnoreRule("contacts", key="+4741*"))

    def member(group: str, contact: str) -> Resource:
        return Resource("no", "memberships", f"{group}|{contact}", {"group": group, "contact": contact})

    items = [
        member("Form signups", "+4790550000"),
        member("Staff", "+4741000001"),
        member("Staff", "+4790550000"),
    ]
    assert [m.key for m in filter_live(rules, "memberships", items)] == ["Staff|+4790550000"]


def test_a_national_number_glob_is_a_warning(tmp_path: Path) -> None:
    """A key glob written as a national number can never match an E.164 key: validate warns."""
    (tmp_path / "reconciler.yaml").write_text(
        "version: 1\naccounts:\n  se:\n    provider: intime\n    credentials: {user: u, hash: h}\n"
        '    ignore: [{type: contacts, key: "070*"}, {type: groups, key: "0*"}]\n'
    )
    config = load_config(tmp_path, {})
    assert [str(w).split(": ", 1)[1] for w in config.warnings] == [
        "accounts.se.ignore[0].key: contacts keys are E.164 numbers, so '070*' matches none "
        "(write it with + and the country code, e.g. '+4670*')"
    ]
    assert config.accounts["se"].ignore[0].key == "070*"
