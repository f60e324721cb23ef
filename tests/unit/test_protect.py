"""Protection: state records carry it, plans that delete or replace protected items get errors."""

from __future__ import annotations

from pathlib import Path

import pytest

from reconciler.changes import Action, Change
from reconciler.config.load import load_config
from reconciler.config.types import AccountConfig, Config
from reconciler.errors import ConfigError
from reconciler.model import Resource
from reconciler.plan import Plan
from reconciler.protect import guard, protected, refusals, sync
from reconciler.state import State


def _config(tmp_path: Path, protect: dict[tuple[str, str, str], bool]) -> Config:
    account = AccountConfig("se", "intime", credentials={"user": "u", "hash": "h"})
    return Config(root=tmp_path, accounts={"se": account}, desired={}, protect=protect)


def test_recording_again_keeps_the_protection_until_unprotected(tmp_path: Path) -> None:
    """An apply re-recording a protected item keeps the flag, also after a journal replay."""
    state = State.load(tmp_path / "state.json")
    state.record("se", "reminders", "anna", "7", {"name": "anna"})
    state.protect("se", "reminders", "anna")
    state.record("se", "reminders", "anna", "8", {"name": "anna", "active": False})
    state.close()
    again = State.load(tmp_path / "state.json")
    assert again.account("se")["reminders"]["anna"] == {
        "id": "8",
        "attrs": {"name": "anna", "active": False},
        "protect": True,
    }
    again.unprotect("se", "reminders", "anna")
    assert again.account("se")["reminders"]["anna"] == {"id": "8", "attrs": {"name": "anna", "active": False}}
    again.close()


def test_delete_and_replace_of_protected_items_are_errors() -> None:
    """Deletes and replaces of protected items get one error each; updates and others pass."""
    plan = Plan(
        changes=(
            Change("se", "groups", "Staff", Action.DELETE, before={}),
            Change("se", "campaigns", "sale", Action.REPLACE, {}, {}),
            Change("se", "groups", "VIP", Action.UPDATE, {}, {}),
            Change("se", "groups", "Old", Action.DELETE, before={}),
        )
    )
    guarded = {
        ("se", "groups", "Staff"): "recorded in the state",
        ("se", "campaigns", "sale"): "declared protect: true",
        ("se", "groups", "VIP"): "recorded in the state",
    }
    assert [str(p) for p in refusals(plan, guarded)] == [
        "se/groups/Staff is protected (recorded in the state), so the plan may not delete it (apply it "
        "with protect: false first, or run `reconciler state unprotect se/groups/Staff`)",
        "se/campaigns/sale is protected (declared protect: true), so the plan may not replace it "
        "(remove protect: true from it first)",
    ]
    assert len(guard(plan, guarded).errors) == 2 and guard(plan, {}) is plan


def test_declared_false_lifts_nothing_until_applied(tmp_path: Path) -> None:
    """A recorded protection holds while the YAML says protect: false; a declared true counts at once."""
    state = State.load(tmp_path / "state.json")
    state.record("se", "reminders", "anna", "7", {})
    state.protect("se", "reminders", "anna")
    config = _config(tmp_path, {("se", "reminders", "anna"): False, ("se", "groups", "VIP"): True})
    assert protected(config, state, ["se"]) == {
        ("se", "reminders", "anna"): "recorded in the state",
        ("se", "groups", "VIP"): "declared protect: true",
    }
    assert protected(config, state, ["other"]) == {}
    state.close()


def test_sync_records_existing_items_only(tmp_path: Path) -> None:
    """Live untracked items get a record holding their id; a tracked item without a record waits."""
    state = State.load(tmp_path / "state.json")
    config = _config(
        tmp_path,
        {
            ("se", "groups", "VIP"): True,  # listed live, not tracked by intime
            ("se", "groups", "Gone"): True,  # neither live nor created: nothing to protect yet
            ("se", "reminders", "anna"): True,  # tracked, its create failed: no record
        },
    )
    live = {("se", "groups"): {"VIP": Resource("se", "groups", "VIP", {"name": "VIP"}, ident="12")}}
    failed = ()
    synced = sync(config, state, live, failed, ["se"])
    assert synced.protected == (("se", "groups", "VIP"),)
    assert state.account("se") == {"groups": {"VIP": {"id": "12", "attrs": {}, "protect": True}}}
    lifted = sync(_config(tmp_path, {("se", "groups", "VIP"): False}), state, live, (), ["se"])
    assert lifted.unprotected == (("se", "groups", "VIP"),)
    assert state.account("se") == {"groups": {}}
    state.close()


def test_protect_is_read_from_yaml_and_csv_and_never_an_attribute(tmp_path: Path) -> None:
    """protect: in YAML and a protect column in CSV land in Config.protect, not in the attributes."""
    (tmp_path / "reconciler.yaml").write_text(
        "version: 1\naccounts:\n  se:\n    provider: intime\n    credentials: {user: u, hash: h}\n"
    )
    (tmp_path / "people.yaml").write_text(
        "account: se\ngroups:\n  - {name: Staff, protect: true}\ncontacts:\n  - from_csv: people.csv\n"
    )
    (tmp_path / "people.csv").write_text("mobile,first_name,protect\n0701234567,Anna,TRUE\n0701234568,Bo,\n")
    config = load_config(tmp_path, {})
    assert config.protect == {("se", "groups", "Staff"): True, ("se", "contacts", "+46701234567"): True}
    assert "protect" not in config.desired[("se", "groups")]["Staff"].attrs
    assert "protect" not in config.desired[("se", "contacts")]["+46701234567"].attrs


def test_a_csv_protect_cell_must_be_true_or_false(tmp_path: Path) -> None:
    """A protect cell other than true/false/empty is a problem naming the row and column."""
    (tmp_path / "reconciler.yaml").write_text(
        "version: 1\naccounts:\n  se:\n    provider: intime\n    credentials: {user: u, hash: h}\n"
    )
    (tmp_path / "people.yaml").write_text("account: se\ncontacts:\n  - from_csv: people.csv\n")
    (tmp_path / "people.csv").write_text("mobile,protect\n0701234567,yes\n")
    with pytest.raises(ConfigError) as caught:
        load_config(tmp_path, {})
    assert [p.message for p in caught.value.problems] == [
        "protect in row 2: 'yes' is not true or false (write true, false or nothing)"
    ]
    assert (caught.value.problems[0].line, caught.value.problems[0].col) == (2, 12)
