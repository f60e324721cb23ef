"""The clinic example planned and applied end to end (config, engine, planner, applier, state, emulator)."""

from __future__ import annotations

import re
import shutil
import time
from datetime import datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from click.testing import CliRunner

from reconciler.apply import apply_plan
from reconciler.changes import Action
from reconciler.cli import main
from reconciler.config.load import load_config
from reconciler.engine import Run
from reconciler.errors import ConfigError
from reconciler.plan import Plan
from reconciler.sandbox.intime.emulator import SANDBOX_CREDENTIALS
from reconciler.state import State

EXAMPLE = Path(__file__).resolve().parents[3] / "examples" / "intime"
STOCKHOLM = ZoneInfo("Europe/Stockholm")


@pytest.fixture
def clock(clock):
    # validate_item judges send_at against the real time, so the fake clock starts now.
    clock.now = float(int(time.time()))
    return clock


class Clinic:
    """A copy of examples/intime with its campaign moved 30 days ahead of the clock."""

    def __init__(self, root: Path, url: str, clock) -> None:
        shutil.copytree(EXAMPLE, root)
        self.root, self.clock = root, clock
        self.env = {
            "INTIME_URL": url,
            "INTIME_USER": SANDBOX_CREDENTIALS["user"],
            "INTIME_HASH": SANDBOX_CREDENTIALS["hash"],
        }
        self.send_at = (clock.datetime() + timedelta(days=30)).astimezone(STOCKHOLM).replace(tzinfo=None)
        self.edit(
            "messages.yaml", "send_at: 2030-02-25T09:00:00", f"send_at: {self.send_at:%Y-%m-%dT%H:%M:00}"
        )

    def edit(self, name: str, old: str, new: str) -> None:
        path = self.root / name
        text = path.read_text(encoding="utf-8")
        assert old in text, old
        path.write_text(text.replace(old, new, 1), encoding="utf-8")

    def run(self) -> Run:
        config = load_config(self.root, self.env, now=self.clock.datetime())
        return Run(config, State.load(config.state_path), now=self.clock.datetime)

    def plan(self) -> Plan:
        run = self.run()
        try:
            return run.plan()
        finally:
            run.close()

    def apply(self) -> Plan:
        run = self.run()
        try:
            plan = run.plan()
            assert not plan.errors, plan.errors
            result = apply_plan(plan, run.providers, run.state)
            assert result.ok, result.failed
        finally:
            run.close()
            run.state.save()
        return plan

    def state(self, type_: str) -> dict:
        return State.load(self.root / ".reconciler" / "state.json").records("clinic", type_)


@pytest.fixture
def clinic(server, base_url, tmp_path, clock) -> Clinic:
    return Clinic(tmp_path / "clinic", base_url, clock)


def actions(plan: Plan) -> list[tuple[str, str, str]]:
    return [(c.type, c.key, c.action.value) for c in plan.changes]


def warnings(plan: Plan) -> str:
    return "\n".join(w.message for w in plan.warnings)


def test_fresh_apply_then_plan_is_empty(clinic, emulator):
    """The example applies in one pass (all contacts in one request) and the next plan is empty."""
    emulator.reset_counts()
    plan = clinic.apply()
    assert plan.summary["create"] == 2 + 5 + 1 + 2 + 1
    assert emulator.count("POST", "contacts/add.ashx") == 1 and len(emulator.contacts()) == 5
    assert sorted(g["name"] for g in emulator.groups()) == ["Patienter", "Personal"]
    assert [n["mobile"] for n in emulator.nix()] == ["+46701112233"]
    [message] = emulator.messages()
    assert message["senddate"] == f"{clinic.send_at:%Y-%m-%dT%H:%M:00}" and message["status"] == "scheduled"
    assert message["body"].startswith("Välkommen på influensavaccination")
    assert clinic.state("campaigns")["influensa-2030"]["id"] == str(message["id"])
    assert {r["id"] for r in clinic.state("reminders").values()} == {
        str(r["id"]) for r in emulator.reminders()
    }
    assert sorted(int(r["id"]) for r in clinic.state("contacts").values()) == [
        c["id"] for c in emulator.contacts()
    ]
    again = clinic.plan()
    assert again.changes == ()
    assert "cannot list contacts" in warnings(again)


def test_state_keeps_attributes_only_where_the_plan_needs_them(clinic):
    """Reminders (listed live) keep only their ids in state: no attendant's name or number there;
    unlistable contacts and campaigns keep their last applied attributes, which the plan compares."""
    clinic.apply()
    reminders = clinic.state("reminders")
    assert reminders and all(record["attrs"] == {} and record["id"] for record in reminders.values())
    assert all(record["attrs"] for record in clinic.state("contacts").values())
    assert clinic.state("campaigns")["influensa-2030"]["attrs"]["text"]
    assert clinic.plan().changes == ()


@pytest.mark.parametrize(
    ("name", "old", "new", "expected"),
    [
        (
            "messages.yaml",
            "appointment: 2030-01-12T08:30:00",
            "appointment: 2030-01-12T09:00:00",
            [("reminders", "anna-check-up-2030-01", "update")],
        ),
        (
            "messages.yaml",
            "Ingen tidsbokning behövs!",
            "Välkommen!",
            [("campaigns", "influensa-2030", "replace")],
        ),
        (
            "people.yaml",
            '  - mobile: "070-111 22 33"',
            '  - mobile: "070-111 22 44"',
            [("blocklist", "+46701112233", "delete"), ("blocklist", "+46701112244", "create")],
        ),
        (
            "people.yaml",
            "  - name: Patienter              # patients",
            "  - name: Patienter\n  - name: Akut",
            [("groups", "Akut", "create")],
        ),
        (
            "messages.yaml",
            "    active: true ",
            "    active: false ",
            [("reminders", "bjorn-cleaning-2030-01", "update")],
        ),
    ],
)
def test_one_change_gives_exactly_one_action(clinic, emulator, name, old, new, expected):
    """Each single edit of the config plans exactly the expected action, applies, and converges."""
    clinic.apply()
    clinic.edit(name, old, new)
    assert sorted(actions(clinic.plan())) == sorted(expected)
    clinic.apply()
    assert clinic.plan().changes == ()


def test_campaign_replace_removes_the_old_message(clinic, emulator):
    """A changed campaign text deletes the scheduled message and schedules a new one."""
    clinic.apply()
    clinic.edit("messages.yaml", "Ingen tidsbokning behövs!", "Välkommen!")
    [change] = clinic.apply().changes
    assert "cannot edit a scheduled message" in change.reason
    old, new = emulator.messages()
    assert (old["status"], new["status"]) == ("deleted", "scheduled")
    assert clinic.state("campaigns")["influensa-2030"]["id"] == str(new["id"])


def test_removed_reminder_is_deactivated(clinic, emulator):
    """A reminder removed from the YAML is deactivated, then reported as unmanaged, not re-planned."""
    clinic.apply()
    clinic.edit(
        "messages.yaml",
        "  - name: anna-check-up-2030-01\n",
        "  - name: anna-check-up-2030-01\n    active: false\n",
    )
    clinic.apply()
    text = (clinic.root / "messages.yaml").read_text(encoding="utf-8")
    clinic.edit("messages.yaml", text[text.index("  - name: anna") : text.index("  - name: bjorn")], "")
    assert actions(clinic.plan()) == [("reminders", "anna-check-up-2030-01", "delete")]
    clinic.apply()
    assert [r["active"] for r in emulator.reminders()] == [False, True]
    plan = clinic.plan()
    assert plan.changes == () and "unmanaged" in warnings(plan)


def test_inactive_reminder_is_replaced_not_edited(clinic, emulator):
    """A reminder deactivated in the InTime UI but declared active is added again; the old stays inactive."""
    clinic.apply()
    bjorn = emulator.reminders()[1]["id"]
    emulator.set_reminder_active(bjorn, False)
    [change] = clinic.plan().changes
    assert (change.action, change.reason) == (
        Action.REPLACE,
        "the reminder is inactive; InTime cannot edit it, so a new reminder is added",
    )
    clinic.apply()
    assert [(r["id"] == bjorn, r["active"]) for r in emulator.reminders()] == [
        (False, True),
        (True, False),
        (False, True),
    ]
    assert clinic.state("reminders")["bjorn-cleaning-2030-01"]["id"] == str(emulator.reminders()[2]["id"])
    assert clinic.plan().changes == ()


def test_sent_campaign_is_immutable(clinic, emulator, clock):
    """Once the send time passed, a changed campaign is a warning; its removal only drops the record."""
    clinic.apply()
    clock.advance(31 * 86400)
    assert emulator.messages()[0]["status"] == "sent"
    later = (clock.datetime() + timedelta(days=7)).astimezone(STOCKHOLM)
    clinic.edit(
        "messages.yaml", f"send_at: {clinic.send_at:%Y-%m-%dT%H:%M:00}", f"send_at: {later:%Y-%m-%dT%H:%M:00}"
    )
    plan = clinic.plan()
    assert [c for c in plan.changes if c.type == "campaigns"] == []
    assert "campaign already sent at" in warnings(plan) and "new name" in warnings(plan)
    text = (clinic.root / "messages.yaml").read_text(encoding="utf-8")
    (clinic.root / "messages.yaml").write_text(text[: text.index("campaigns:")], encoding="utf-8")
    plan = clinic.plan()
    [drop] = plan.changes
    assert (drop.type, drop.action.value) == ("campaigns", "delete")
    assert "only the state record is dropped" in drop.reason


def test_contact_changes_are_unsupported_and_apply_refuses(clinic):
    """Changing or removing a contact is unsupported; apply refuses unless --skip-unsupported skips it."""
    clinic.apply()
    clinic.edit("people.yaml", "first_name: Björn", "first_name: Bjorn")
    clinic.edit(
        "people.yaml",
        "  - email: info@tandklinik.example   # an e-mail-only contact\n"
        "    first_name: Klinikens\n    last_name: Inkorg\n",
        "",
    )
    plan = clinic.plan()
    assert sorted(actions(plan)) == [
        ("contacts", "+46708765432", "unsupported"),
        ("contacts", "info@tandklinik.example", "unsupported"),
    ]
    assert all("InTime web UI" in c.reason for c in plan.changes)
    runner = CliRunner()
    refused = runner.invoke(main, ["apply", str(clinic.root), "--auto-approve"], env=clinic.env)
    assert refused.exit_code == 1 and "unsupported" in refused.output
    assert "rerun with --skip-unsupported to skip them" in refused.output
    # --force overrides the safety limits only; it does not skip unsupported changes.
    still = runner.invoke(main, ["apply", str(clinic.root), "--auto-approve", "--force"], env=clinic.env)
    assert still.exit_code == 1 and "unsupported change(s)" in still.output
    forced = runner.invoke(
        main, ["apply", str(clinic.root), "--auto-approve", "--skip-unsupported"], env=clinic.env
    )
    assert forced.exit_code == 0, forced.output
    assert SANDBOX_CREDENTIALS["hash"] not in refused.output + forced.output


def test_lost_state_does_not_duplicate_groups_or_reminders(clinic, emulator):
    """Without the state file, live groups and reminders are matched again instead of re-created."""
    clinic.apply()
    (clinic.root / ".reconciler" / "state.json").unlink()
    plan = clinic.plan()
    assert not [c for c in plan.changes if c.type in ("groups", "reminders", "blocklist")]
    assert "adopted live item" in warnings(plan)
    assert "state file" in warnings(plan) and "again" in warnings(plan)


def test_emoji_is_a_validation_error_with_file_and_line(clinic):
    """An emoji in a campaign text fails validation with file:line and the character."""
    clinic.edit("messages.yaml", "Ingen tidsbokning behövs!", "Ingen tidsbokning behövs! 😀")
    with pytest.raises(ConfigError) as info:
        clinic.run()
    assert re.search(r"messages\.yaml:\d+:\d+: .*U\+1F600", str(info.value))


def test_example_validates_with_the_cli(clinic):
    """`reconciler validate` accepts the example."""
    result = CliRunner().invoke(main, ["validate", str(clinic.root)], env=clinic.env)
    assert result.exit_code == 0, result.output


def test_reminder_appointment_is_stockholm_local_time(clinic, emulator):
    """Reminder times are sent as written (Swedish local time), derived message at 10:00 the day before."""
    clinic.apply()
    anna = emulator.reminders()[0]
    assert (anna["appointment"], anna["message_date"]) == ("2030-01-12T08:30:00", "2030-01-11 10:00")
    assert datetime.fromisoformat(anna["appointment"]).tzinfo is None
