"""Planner tests: table-driven cases and hypothesis properties over fake capabilities."""

from __future__ import annotations

import copy
from datetime import UTC, datetime
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from reconciler.changes import Action, Change
from reconciler.compare import changed_paths
from reconciler.errors import Problem
from reconciler.model import MEMBERSHIPS, Resource, get_path, membership_key
from reconciler.planner import Target, diff
from reconciler.providers.base import Capability, cannot, yes

NOW = datetime(2026, 11, 22, 12, 0, tzinfo=UTC)
FULL = Capability(list=yes(), create=yes(), update=yes(), delete=yes(), fields=frozenset())
CAPS = {
    "groups": FULL,
    "contacts": FULL,
    MEMBERSHIPS: Capability(
        list=yes(), create=yes(), update=cannot("no attributes"), delete=yes(), fields=frozenset()
    ),
}


def res(type_: str, key: str, ident: str | None = None, **attrs: Any) -> Resource:
    return Resource("a", type_, key, attrs, ident=ident)


def items(*resources: Resource) -> dict[str, Resource]:
    return {r.key: r for r in resources}


def plan_of(desired: dict, live: dict, caps=CAPS, prune=frozenset(), state=None, refine=None):
    target = Target("a", "fake", caps, frozenset(prune))
    if refine:
        target = Target("a", "fake", caps, frozenset(prune), refine)
    return diff(desired, live, {"a": state or {}}, [target], NOW)


def test_create_update_and_noop():
    """A new item is a create, a changed field one update with that field, an equal item nothing."""
    desired = {
        ("a", "contacts"): items(
            res("contacts", "+1", mobile="+1", first_name="Ann"),
            res("contacts", "+2", mobile="+2", last_name="Lind"),
            res("contacts", "+3", mobile="+3", first_name="Bo"),
        )
    }
    live = {
        ("a", "contacts"): items(
            res("contacts", "+2", "12", mobile="+2", last_name="Lund", email="x@y"),
            res("contacts", "+3", "13", mobile="+3", first_name="Bo", email="z@y"),
        )
    }
    plan = plan_of(desired, live)
    assert [(c.action, c.key) for c in plan.changes] == [(Action.UPDATE, "+2"), (Action.CREATE, "+1")]
    update = plan.changes[0]
    assert update.fields == ("last_name",)
    assert update.before == {"last_name": "Lund"} and update.after == {"last_name": "Lind"}
    assert update.ident == "12"


def test_undeclared_live_items_are_unmanaged_unless_pruned():
    """Undeclared live items are warnings by default and deletes when their type is pruned."""
    live = {("a", "groups"): items(res("groups", "Old", "7", name="Old"))}
    plan = plan_of({}, live)
    assert plan.changes == ()
    assert "unmanaged" in plan.warnings[0].message
    pruned = plan_of({}, live, prune={"groups"})
    assert [(c.action, c.key, c.ident) for c in pruned.changes] == [(Action.DELETE, "Old", "7")]


def test_memberships_are_their_own_changes_and_ordered_after_both():
    """A new contact in a new group: group, contact, then the membership; removal detaches first."""
    desired = {
        ("a", "groups"): items(res("groups", "Staff", name="Staff")),
        ("a", "contacts"): items(res("contacts", "+1", mobile="+1", groups=["Staff"])),
    }
    plan = plan_of(desired, {})
    assert [(c.type, c.action) for c in plan.changes] == [
        ("groups", Action.CREATE),
        ("contacts", Action.CREATE),
        (MEMBERSHIPS, Action.CREATE),
    ]
    assert "groups" not in plan.changes[1].after
    live = {
        ("a", "groups"): items(
            res("groups", "Staff", "1", name="Staff"), res("groups", "Old", "2", name="Old")
        ),
        ("a", "contacts"): items(res("contacts", "+1", "5", mobile="+1")),
        ("a", MEMBERSHIPS): items(res(MEMBERSHIPS, membership_key("Old", "+1"), group="Old", contact="+1")),
    }
    plan = plan_of(desired, live)
    assert [(c.type, c.action, c.key) for c in plan.changes] == [
        (MEMBERSHIPS, Action.DELETE, "Old|+1"),
        (MEMBERSHIPS, Action.CREATE, "Staff|+1"),
    ]


def test_memberships_of_contacts_without_groups_are_left_alone():
    """A contact that does not declare `groups` keeps whatever memberships it has live."""
    desired = {("a", "contacts"): items(res("contacts", "+1", mobile="+1"))}
    live = {
        ("a", "contacts"): items(res("contacts", "+1", "5", mobile="+1")),
        ("a", MEMBERSHIPS): items(res(MEMBERSHIPS, "G|+1", group="G", contact="+1")),
    }
    assert plan_of(desired, live).changes == ()


def test_update_the_provider_cannot_make_is_replace_or_unsupported():
    """No in-place update: replace when delete+create work, else unsupported with the reason."""
    desired = {("a", "groups"): items(res("groups", "G", name="G", description="new"))}
    live = {("a", "groups"): items(res("groups", "G", "1", name="G", description="old"))}
    no_update = {
        "groups": Capability(
            list=yes(), create=yes(), update=cannot("no rename"), delete=yes(), fields=frozenset()
        )
    }
    change = plan_of(desired, live, caps=no_update).changes[0]
    assert change.action is Action.REPLACE and "no rename" in change.reason
    write_once = {
        "groups": Capability(
            list=yes(),
            create=yes(),
            update=cannot("write-once"),
            delete=cannot("no delete"),
            fields=frozenset(),
        )
    }
    change = plan_of(desired, live, caps=write_once).changes[0]
    assert change.action is Action.UNSUPPORTED and change.reason == "write-once"


def test_unlistable_tracked_type_compares_with_state():
    """An unlistable type is compared with state; a removed item that can't be deleted is unsupported."""
    caps = {
        "contacts": Capability(
            list=cannot("no list"),
            create=yes(),
            update=cannot("write-only"),
            delete=cannot("write-only"),
            fields=frozenset(),
            tracked=True,
        )
    }
    state = {
        "contacts": {
            "+1": {"id": "9", "attrs": {"mobile": "+1", "first_name": "Ann"}},
            "+2": {"id": "10", "attrs": {"mobile": "+2"}},
        }
    }
    desired = {("a", "contacts"): items(res("contacts", "+1", mobile="+1", first_name="Ann"))}
    plan = plan_of(desired, {}, caps=caps, state=state)
    assert [(c.action, c.key) for c in plan.changes] == [(Action.UNSUPPORTED, "+2")]
    assert "write-only" in plan.changes[0].reason
    assert any("cannot list" in w.message for w in plan.warnings)


def test_tracked_items_removed_from_config_are_deleted_and_adopted_when_state_is_lost():
    """Tracked items in state but not in config are deleted; unbound live items are adopted by identity."""
    caps = {
        "reminders": Capability(
            list=yes(),
            create=yes(),
            update=yes(),
            delete=yes(),
            fields=frozenset(),
            tracked=True,
            adopt_by=("attendant.mobile", "appointment"),
        )
    }
    live = {
        ("a", "reminders"): items(res("reminders", "#5", "5", appointment="t1", attendant={"mobile": "+1"}))
    }
    desired = {
        ("a", "reminders"): items(
            res("reminders", "anna", name="anna", appointment="t1", attendant={"mobile": "+1"})
        )
    }
    plan = plan_of(desired, live, caps=caps)
    assert [(c.action, c.key, c.ident) for c in plan.changes] == [(Action.UPDATE, "anna", "5")]
    assert plan.changes[0].fields == ("name",)
    assert plan.adoptions[0].ident == "5"
    assert plan.meta["adopt"][0]["id"] == "5"  # the JSON form is unchanged
    with pytest.raises(TypeError):
        plan.meta["adopt"] = []  # type: ignore[index]  # a built plan is never changed
    bound = {
        ("a", "reminders"): items(
            res("reminders", "anna", "5", name="anna", appointment="t1", attendant={"mobile": "+1"})
        )
    }
    plan = plan_of({}, bound, caps=caps, state={"reminders": {"anna": {"id": "5", "attrs": {}}}})
    assert [(c.action, c.key) for c in plan.changes] == [(Action.DELETE, "anna")]


def test_nested_field_paths_and_append_only_fields():
    """Nested changes name dotted paths; removing from an append-only list is unsupported."""
    assert changed_paths(
        {"attendant": {"mobile": "+1", "first_name": "A"}}, {"attendant": {"mobile": "+2", "first_name": "A"}}
    ) == ["attendant.mobile"]
    caps = {
        "phone_lists": Capability(
            list=yes(),
            create=yes(),
            update=yes(),
            delete=cannot("append-only"),
            fields=frozenset(),
            append_only_fields=frozenset({"numbers"}),
        )
    }
    desired = {("a", "phone_lists"): items(res("phone_lists", "VIP", name="VIP", numbers=["+2", "+3"]))}
    live = {("a", "phone_lists"): items(res("phone_lists", "VIP", "4", name="VIP", numbers=["+1", "+2"]))}
    plan = plan_of(desired, live, caps=caps)
    assert [(c.action, c.fields) for c in plan.changes] == [
        (Action.UPDATE, ("numbers",)),
        (Action.UNSUPPORTED, ("numbers",)),
    ]
    assert plan.changes[0].after == {"numbers": ["+1", "+2", "+3"]}
    assert plan.changes[1].before == {"numbers": ["+1"]}


def test_refine_can_turn_a_change_into_a_warning():
    """A provider's refine hook may veto a change with a warning (a sent campaign)."""

    def refine(change: Change, live, now):
        return Problem("already sent", severity="warning")

    desired = {("a", "groups"): items(res("groups", "G", name="G"))}
    plan = plan_of(desired, {}, refine=refine)
    assert plan.changes == () and plan.warnings[0].message == "already sent"


# -- properties --------------------------------------------------------------------------------------
GROUPS = ["Staff", "Customers", "VIP", "Old"]
NUMBERS = [f"+4670000000{i}" for i in range(8)]
names = st.sampled_from(["Ann", "Bo", "Cy", "  ", "Åsa"])


@st.composite
def contact_sets(draw, with_ids: bool):
    out = {}
    for number in draw(st.lists(st.sampled_from(NUMBERS), unique=True)):
        attrs: dict[str, Any] = {"mobile": number}
        if draw(st.booleans()):
            attrs["first_name"] = draw(names)
        if draw(st.booleans()):
            attrs["email"] = draw(st.sampled_from(["a@x.se", "b@x.se"]))
        if draw(st.booleans()):
            attrs["groups"] = sorted(draw(st.sets(st.sampled_from(GROUPS), max_size=3)))
        out[number] = attrs
    return out


def _live_from(groups: set[str], contacts: dict[str, dict]) -> dict:
    live_contacts = {}
    members = {}
    for key, attrs in contacts.items():
        live_contacts[key] = Resource(
            "a", "contacts", key, {k: v for k, v in attrs.items() if k != "groups"}, ident=key
        )
        for group in attrs.get("groups", ()):
            if group in groups:
                mkey = membership_key(group, key)
                members[mkey] = Resource("a", MEMBERSHIPS, mkey, {"group": group, "contact": key})
    return {
        ("a", "groups"): {g: Resource("a", "groups", g, {"name": g}, ident=g) for g in groups},
        ("a", "contacts"): live_contacts,
        ("a", MEMBERSHIPS): members,
    }


def _simulate(live: dict, changes: tuple[Change, ...]) -> dict:
    """Apply changes to a live snapshot the way a faithful provider would."""
    out = {where: dict(items) for where, items in live.items()}
    for change in changes:
        table = out.setdefault((change.account, change.type), {})
        if change.action is Action.CREATE:
            table[change.key] = Resource(
                "a", change.type, change.key, copy.deepcopy(change.after), ident=change.key
            )
        elif change.action is Action.UPDATE:
            attrs = copy.deepcopy(dict(table[change.key].attrs))
            for path in change.fields:
                attrs[path] = get_path(change.after, path)
            table[change.key] = Resource("a", change.type, change.key, attrs, ident=change.key)
        elif change.action is Action.DELETE:
            del table[change.key]
            if change.type == "groups":
                members = out.get(("a", MEMBERSHIPS), {})
                for mkey in [k for k, m in members.items() if m.attrs["group"] == change.key]:
                    del members[mkey]
        else:
            raise AssertionError(f"unexpected {change.action}")
    return out


@settings(max_examples=150, deadline=None)
@given(
    want_groups=st.sets(st.sampled_from(GROUPS)),
    want_contacts=contact_sets(with_ids=False),
    have_groups=st.sets(st.sampled_from(GROUPS)),
    have_contacts=contact_sets(with_ids=True),
    prune=st.sets(st.sampled_from(["groups", "contacts"])),
)
def test_applying_the_plan_converges_and_replanning_is_empty(
    want_groups, want_contacts, have_groups, have_contacts, prune
):
    """For random desired and live states, applying the plan yields desired; planning again yields nothing."""
    # Declared groups must exist for the contacts that reference them (validation guarantees it).
    want_groups = want_groups | {g for c in want_contacts.values() for g in c.get("groups", ())}
    desired = {
        ("a", "groups"): {g: Resource("a", "groups", g, {"name": g}) for g in want_groups},
        ("a", "contacts"): {k: Resource("a", "contacts", k, v) for k, v in want_contacts.items()},
    }
    live = _live_from(have_groups, have_contacts)
    first = plan_of(desired, live, prune=prune)
    assert all(c.action is not Action.UNSUPPORTED for c in first.changes)
    after = _simulate(live, first.changes)
    # Every managed item now matches its declaration.
    for key, contact in want_contacts.items():
        got = after[("a", "contacts")][key].attrs
        for name, value in contact.items():
            if name != "groups":
                assert got.get(name) == value
        if "groups" in contact:
            members = {
                m.attrs["group"] for m in after[("a", MEMBERSHIPS)].values() if m.attrs["contact"] == key
            }
            assert members == set(contact["groups"])
    assert want_groups <= set(after[("a", "groups")])
    if "groups" in prune:
        assert set(after[("a", "groups")]) == want_groups
    if "contacts" in prune:
        assert set(after[("a", "contacts")]) == set(want_contacts)
    second = plan_of(desired, after, prune=prune)
    assert second.changes == ()


@settings(max_examples=150, deadline=None)
@given(
    want_contacts=contact_sets(with_ids=False),
    have_contacts=contact_sets(with_ids=True),
    prune=st.sets(st.sampled_from(["groups", "contacts"])),
    rng=st.randoms(use_true_random=False),
)
def test_the_plan_does_not_depend_on_the_order_of_the_live_items(want_contacts, have_contacts, prune, rng):
    """Live items are paired by walking both sides in order where they agree
    (reconciler.pairing): in any other order, memberships included, the plan is the same."""
    groups = set(GROUPS)
    desired = {
        ("a", "groups"): {g: Resource("a", "groups", g, {"name": g}) for g in groups},
        ("a", "contacts"): {k: Resource("a", "contacts", k, v) for k, v in want_contacts.items()},
    }
    live = _live_from(groups, have_contacts)
    shuffled = {}
    for where, found in live.items():
        keys = list(found)
        rng.shuffle(keys)
        shuffled[where] = {key: found[key] for key in keys}
    ordered, other = plan_of(desired, live, prune=prune), plan_of(desired, shuffled, prune=prune)
    assert other.changes == ordered.changes
    assert sorted(map(repr, other.warnings)) == sorted(map(repr, ordered.warnings))


# -- the allocation-free comparison of unchanged items (issue 11) -----------------------------------

_LEAF = (
    st.none()
    | st.integers(0, 2)
    | st.sampled_from(["a", "b", ""])
    | st.lists(st.sampled_from(["a", "b"]), max_size=2)
)
_ATTRS = st.recursive(
    _LEAF, lambda inner: st.dictionaries(st.sampled_from(["x", "y", "_z"]), inner, max_size=3), max_leaves=6
)
_ITEM = st.dictionaries(st.sampled_from(["name", "text", "_hidden", "derived", "nested"]), _ATTRS, max_size=4)


@settings(max_examples=500, deadline=None)
@given(_ITEM, _ITEM)
def test_unchanged_agrees_with_project_and_compare(live: dict[str, Any], wanted: dict[str, Any]) -> None:
    from reconciler.compare import unchanged as _unchanged
    from reconciler.model import project

    derived = frozenset({"derived"})
    declared = {k: v for k, v in wanted.items() if k not in derived and not k.startswith("_")}
    assert _unchanged(live, wanted, derived) == (project(live, declared) == declared)
