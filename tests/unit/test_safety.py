"""Safety limits per account and type: resolution order, percentages, max_deletes, messages."""

from __future__ import annotations

from pathlib import Path

from reconciler.changes import Action, Change
from reconciler.config.load import load_config
from reconciler.config.types import Safety, SafetyBlock
from reconciler.plan import Plan
from reconciler.safety import violations


def _plan(account: str, type_: str, deletes: int = 0, updates: int = 0) -> Plan:
    changes = [Change(account, type_, f"d{i}", Action.DELETE, before={}) for i in range(deletes)]
    changes += [Change(account, type_, f"u{i}", Action.UPDATE, {}, {}) for i in range(updates)]
    return Plan(changes=tuple(changes))


def test_most_specific_block_wins_and_names_its_path() -> None:
    """Account-and-type beats account, which beats root-and-type, which beats root, then the default."""
    safety = Safety(
        SafetyBlock({"max_delete_percent": 20}, {"contacts": {"max_delete_percent": 10}}),
        {"se": SafetyBlock({"max_delete_percent": 40}, {"contacts": {"max_delete_percent": 5}})},
    )
    assert (
        safety.limit("se", "contacts", "max_delete_percent").path
        == "accounts.se.safety.contacts.max_delete_percent"
    )
    assert safety.limit("se", "groups", "max_delete_percent").value == 40
    assert safety.limit("no", "contacts", "max_delete_percent").path == "safety.contacts.max_delete_percent"
    assert safety.limit("no", "groups", "max_delete_percent").value == 20
    default = safety.limit("no", "groups", "max_update_percent")
    assert (default.value, default.path) == (30.0, "safety.max_update_percent")
    assert safety.limit("no", "groups", "max_deletes").value is None


def test_per_type_percentage_refuses_with_numbers_type_and_setting() -> None:
    """3 deletes of 40 contacts pass the default 30% but not a contacts-only 5%; the message says which."""
    live = {("se", "contacts"): 40, ("se", "groups"): 40}
    safety = Safety(SafetyBlock({}, {"contacts": {"max_delete_percent": 5}}))
    assert violations(_plan("se", "groups", deletes=3), live, safety) == []
    assert violations(_plan("se", "contacts", deletes=3), live, safety) == [
        "se/contacts: the plan would delete 3 of 40 live items (8% > max_delete_percent 5%, set by "
        "safety.contacts.max_delete_percent); review it, then rerun with --force or raise "
        "safety.contacts.max_delete_percent"
    ]


def test_max_deletes_is_absolute_and_ignores_min_existing() -> None:
    """max_deletes caps deletes even below min_existing live items, where percentages are exempt."""
    safety = Safety(accounts={"se": SafetyBlock({"max_deletes": 2})})
    live = {("se", "groups"): 4}
    assert violations(_plan("se", "groups", deletes=2), live, safety) == []
    assert violations(_plan("se", "groups", deletes=3), live, safety) == [
        "se/groups: the plan would delete 3 items (more than accounts.se.safety.max_deletes = 2); "
        "review it, then rerun with --force or raise accounts.se.safety.max_deletes"
    ]
    assert violations(_plan("no", "groups", deletes=3), {("no", "groups"): 4}, safety) == []


def test_updates_and_replaces_count_against_max_update_percent() -> None:
    """Updates and replaces share max_update_percent; an account without live items is never divided by."""
    plan = Plan(
        changes=(
            Change("se", "groups", "a", Action.UPDATE, {}, {}),
            Change("se", "groups", "b", Action.REPLACE, {}, {}),
        )
    )
    safety = Safety(SafetyBlock({"max_update_percent": 15, "min_existing": 0}))
    assert len(violations(plan, {("se", "groups"): 10}, safety)) == 1
    assert violations(plan, {}, safety) == []


def test_safety_blocks_load_from_root_and_accounts(tmp_path: Path) -> None:
    """reconciler.yaml's root and account safety blocks, with per-type sections, load into Safety."""
    (tmp_path / "reconciler.yaml").write_text(
        "version: 1\n"
        "accounts:\n"
        "  se:\n"
        "    provider: intime\n"
        "    credentials: {user: u, hash: h}\n"
        "    safety: {max_deletes: 20, contacts: {max_delete_percent: 5}}\n"
        "safety: {max_update_percent: 50, groups: {min_existing: 3}}\n"
    )
    config = load_config(tmp_path, {})
    assert config.safety == Safety(
        SafetyBlock({"max_update_percent": 50}, {"groups": {"min_existing": 3}}),
        {"se": SafetyBlock({"max_deletes": 20}, {"contacts": {"max_delete_percent": 5}})},
    )
