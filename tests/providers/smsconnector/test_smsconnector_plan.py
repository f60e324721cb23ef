"""Plan and apply an SMSConnector account end to end (engine, planner, applier, state, emulator)."""

from __future__ import annotations

import logging
import math
import re
from datetime import UTC, datetime
from pathlib import Path

import pytest

import reconciler.apply
from reconciler.apply import apply_plan
from reconciler.changes import Action
from reconciler.config.types import AccountConfig, Config
from reconciler.engine import Run
from reconciler.model import Resource, key_of, normalize_attrs
from reconciler.plan import Plan
from reconciler.providers.smsconnector.capabilities import ADD_ENTRIES_LIMIT, INFO
from reconciler.sandbox.smsconnector.emulator import SANDBOX_CREDENTIALS
from reconciler.state import State

NOW = datetime(2026, 11, 22, 12, 0, tzinfo=UTC)
VIP = ["+447700900001", "07700 900002", "447700900003"]
CAMPAIGN = {
    "name": "spring",
    "text": "Spring sale: 20% off",
    "sender": "82830",
    "brand": "Acme",
    "send_at": "2027-03-01T09:00:00Z",
    "to": {"phone_lists": ["VIP"]},
}


class Repo:
    """A config held in memory (desired items of one smsconnector account) plus a state file."""

    def __init__(self, url: str, state_path: Path) -> None:
        self.account = AccountConfig(
            "uk", "smsconnector", region="GB", url=url, credentials=dict(SANDBOX_CREDENTIALS)
        )
        self.state_path = state_path
        self.items: dict[str, list[dict]] = {"phone_lists": [], "campaigns": []}
        self.now = NOW

    def config(self) -> Config:
        desired: dict[tuple[str, str], dict[str, Resource]] = {}
        for type_, items in self.items.items():
            for raw in items:
                attrs = normalize_attrs(type_, raw, "GB", INFO.timezone)
                key = key_of(type_, attrs)
                desired.setdefault(("uk", type_), {})[key] = Resource("uk", type_, key, attrs)
        return Config(root=self.state_path.parent, accounts={"uk": self.account}, desired=desired)

    def plan(self) -> Plan:
        run = Run(self.config(), State.load(self.state_path), now=lambda: self.now)
        try:
            return run.plan()
        finally:
            run.close()

    def apply(self) -> Plan:
        """Plan, apply everything applicable, save the state; returns the plan that was applied."""
        state = State.load(self.state_path)
        run = Run(self.config(), state, now=lambda: self.now)
        try:
            plan = run.plan()
            assert not plan.errors, plan.errors
            result = apply_plan(plan, run.providers, state)
            assert result.ok, result.failed
            self.warnings = result.warnings
        finally:
            run.close()
            state.save()
        return plan


@pytest.fixture
def repo(server, tmp_path) -> Repo:
    repo = Repo(server.url, tmp_path / ".reconciler" / "state.json")
    repo.items["phone_lists"] = [
        {"name": "VIP", "numbers": list(VIP)},
        {"name": "Leads", "numbers": ["07700 900100"], "folder": "Marketing"},
    ]
    repo.items["campaigns"] = [dict(CAMPAIGN)]
    return repo


def actions(plan: Plan) -> list[tuple[str, str, str]]:
    return [(c.type, c.key, c.action.value) for c in plan.changes]


def test_fresh_apply_then_plan_is_empty(emulator, repo):
    """A fresh apply creates lists and the campaign; the next plan has no changes and the id is in state."""
    plan = repo.apply()
    assert sorted(actions(plan)) == [
        ("campaigns", "spring", "create"),
        ("phone_lists", "Leads", "create"),
        ("phone_lists", "VIP", "create"),
    ]
    [campaign] = emulator.campaigns()
    assert campaign["armed"] and len(campaign["lists"]) == 1
    state = State.load(repo.state_path)
    assert state.records("uk", "campaigns")["spring"]["id"] == str(campaign["id"])
    assert repo.plan().changes == ()
    assert emulator.sessions() == 0  # every run logged out


def test_removing_a_number_is_unsupported(repo):
    """Removing a number from a list is an unsupported change with a reason, never a silent no-op."""
    repo.apply()
    repo.items["phone_lists"][0]["numbers"] = VIP[:2]
    [change] = repo.plan().changes
    assert (change.action, change.before) == (Action.UNSUPPORTED, {"numbers": ["+447700900003"]})
    assert "append-only" in change.reason


def test_adding_1000_numbers_batches(emulator, repo):
    """Adding 1,000 numbers to a list takes ceil(1000 / limit) AddMultipleEntries requests."""
    repo.apply()
    repo.items["phone_lists"][0]["numbers"] = VIP + [f"+4477009{n:05d}" for n in range(1000, 2000)]
    emulator.reset_counts()
    assert actions(repo.apply()) == [("phone_lists", "VIP", "update")]
    assert emulator.count("POST", "AddMultipleEntries") == math.ceil(1000 / ADD_ENTRIES_LIMIT)
    assert repo.plan().changes == ()


def test_expired_session_during_apply(emulator, repo, monkeypatch):
    """A session that expires between plan and apply is renewed once and the apply completes."""
    original = reconciler.apply._run_batch

    def expire_then_run(*args, **kwargs):
        emulator.expire_sessions()
        return original(*args, **kwargs)

    monkeypatch.setattr(reconciler.apply, "_run_batch", expire_then_run)
    repo.apply()
    assert emulator.count("POST", "Security/Login") == 1 + 3  # the plan's login, then one per batch
    assert repo.plan().changes == ()


def test_stopped_number_blocks_the_plan_until_start(emulator, repo):
    """A number that texted STOP is a plan error (masked, with the campaign); START afterwards clears it."""
    emulator.add_stop("07700 900002", "2026-11-01T10:00:00Z")
    plan = repo.plan()
    [error] = plan.errors
    assert "campaign 'spring' would send to 1 recipient who opted out" in error.message
    masked = r"\+44 77\u2022{6}02 #[0-9a-f]{6} texted STOP on 2026-11-01 and not START since"
    assert re.search(masked, error.message), error.message
    assert "900002" not in str(error)
    emulator.add_reinstate("447700900002", "2026-11-02T10:00:00Z")
    assert repo.plan().errors == ()


def test_invalid_sender_is_a_plan_error(repo):
    """A sender the company does not have is a plan error naming the valid headers."""
    repo.items["campaigns"][0]["sender"] = "NOPE"
    [error] = repo.plan().errors
    assert "82830, ACMELTD" in error.message


def test_changed_text_replaces_with_warning(emulator, repo):
    """A changed text stops the old campaign and creates a new one, with a warning; then the plan is empty."""
    repo.apply()
    repo.items["campaigns"][0]["text"] = "Spring sale: 30% off"
    assert actions(repo.apply()) == [("campaigns", "spring", "replace")]
    old, new = emulator.campaigns()
    assert (old["armed"], new["armed"], new["text"]) == (False, True, "Spring sale: 30% off")
    assert repo.warnings == [
        f"uk/campaigns/spring: the old campaign {old['id']} was stopped; SMSConnector cannot delete it"
    ]
    assert repo.plan().changes == ()


def test_status_stopped_updates_in_place(emulator, repo):
    """status: stopped is an in-place update (StopCampaign), not a replace."""
    repo.apply()
    repo.items["campaigns"][0]["status"] = "stopped"
    assert actions(repo.apply()) == [("campaigns", "spring", "update")]
    assert emulator.campaigns()[0]["armed"] is False and len(emulator.campaigns()) == 1
    assert repo.plan().changes == ()


def test_sent_campaign_is_immutable(emulator, repo, clock):
    """After its send time a launched campaign cannot change: the plan warns and changes nothing."""
    repo.apply()
    repo.now = datetime(2027, 3, 2, tzinfo=UTC)
    clock.now = repo.now.timestamp()
    repo.items["campaigns"][0]["text"] = "Too late"
    plan = repo.plan()
    assert plan.changes == ()
    assert any("was sent" in w.message for w in plan.warnings)


def test_lost_state_is_explained(repo, tmp_path):
    """With the state file gone, the campaign would be created again: the plan warns why."""
    repo.apply()
    repo.state_path.unlink()
    plan = repo.plan()
    assert actions(plan) == [("campaigns", "spring", "create")]
    assert any("state file was lost" in w.message for w in plan.warnings)


def test_invalid_live_list_entry_is_logged_masked(repo, client, caplog):
    """A live list entry that is not a valid number is ignored with a log line that masks it."""
    repo.apply()
    [vip] = [entry for entry in client.lists() if entry["ListName"] == "VIP"]
    assert client.add_entries(vip["ListID"], ["4412345678901"], "add an invalid entry") == 1
    caplog.set_level(logging.WARNING, logger="reconciler")
    repo.plan()
    assert re.search("phone list 'VIP' holds 44 12\u2022{7}01, which is not a valid number", caplog.text)
    assert "345678" not in caplog.text
