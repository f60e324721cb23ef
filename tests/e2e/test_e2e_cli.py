"""CLI behaviour end to end against the Intouch emulator: safety limits, confirmation, export, errors."""

from __future__ import annotations

import json
from pathlib import Path

from tests.e2e.conftest import Emu, make_repo

GROUPS = "account: oslo\ngroups:\n" + "".join(f"  - name: G{i:02d}\n" for i in range(20))


def test_safety_limit_refuses_mass_delete_unless_forced(tmp_path: Path, intouch: Emu):
    """Pruning 15 of 20 live groups exceeds max_delete_percent: refused, then applied with --force."""
    repo = make_repo(tmp_path, {"oslo": ("intouch", intouch)}, region="NO", prune={"oslo": ["groups"]})
    repo.write(
        "reconciler.yaml",
        (tmp_path / "reconciler.yaml")
        .read_text()
        .replace(
            "safety: {max_update_percent: 100, max_delete_percent: 100}", "safety: {max_delete_percent: 30}"
        ),
    )
    repo.write("groups.yaml", GROUPS)
    assert repo.cli("apply", str(tmp_path), "--auto-approve").exit_code == 0
    repo.write("groups.yaml", "account: oslo\ngroups:\n" + "".join(f"  - name: G{i:02d}\n" for i in range(5)))
    refused = repo.cli("apply", str(tmp_path), "--auto-approve")
    assert refused.exit_code == 1
    assert (
        "oslo/groups: the plan would delete 15 of 20 live items (75% > max_delete_percent 30%, "
        "set by safety.max_delete_percent); review it, then rerun with --force or raise "
        "safety.max_delete_percent" in refused.stderr
    )
    assert len(intouch.emulator.groups()) == 20
    forced = repo.cli("apply", str(tmp_path), "--auto-approve", "--force")
    assert forced.exit_code == 0, forced.output
    assert len(intouch.emulator.groups()) == 5


def test_apply_without_a_terminal_asks_for_auto_approve(tmp_path: Path, intouch: Emu):
    """apply needs a confirmation; without a terminal it refuses and changes nothing."""
    repo = make_repo(tmp_path, {"oslo": ("intouch", intouch)}, region="NO")
    repo.write("groups.yaml", GROUPS)
    result = repo.cli("apply", str(tmp_path))
    assert result.exit_code == 1
    assert "rerun with --auto-approve" in result.stderr
    assert intouch.emulator.groups() == []


def test_export_adopts_an_existing_account(tmp_path: Path, intouch: Emu):
    """export writes the live account as YAML; planning with it right away shows no changes."""
    staff = intouch.emulator.add_group("Staff", description="On payroll")
    ann = intouch.emulator.add_contact("4790550817", first_name="Ann", last_name="Pedersen")
    intouch.emulator.add_member(staff, ann)
    intouch.emulator.add_contact("4790550818", first_name="Ole", email="ole@example.no")
    repo = make_repo(tmp_path, {"oslo": ("intouch", intouch)}, region="NO")
    out = tmp_path / "accounts"
    result = repo.cli("export", "--account", "oslo", "--dir", str(out), "--config", str(tmp_path))
    assert result.exit_code == 0, result.output
    text = (out / "oslo.yaml").read_text(encoding="utf-8")
    assert "first_name: Ann" in text and "groups: [Staff]" in text
    plan = repo.cli("plan", str(tmp_path), "--format", "json")
    assert plan.exit_code == 0, plan.output
    assert json.loads(plan.stdout)["changes"] == []
    again = repo.cli("export", "--account", "oslo", "--dir", str(out), "--config", str(tmp_path))
    assert again.exit_code == 1 and "exists" in again.stderr


def test_unknown_account_and_unreachable_api_are_one_line_errors(tmp_path: Path, intouch: Emu):
    """A bad --account and a refused connection each give one clear line, exit 1, no traceback."""
    repo = make_repo(tmp_path, {"oslo": ("intouch", intouch)}, region="NO")
    bad = repo.cli("plan", str(tmp_path), "--account", "nope")
    assert bad.exit_code == 1
    assert bad.stderr.strip() == "Error: --account 'nope' is not in reconciler.yaml (choose from: oslo)"
    repo.env = dict(repo.env, INTOUCH_URL="http://127.0.0.1:9/2")
    down = repo.cli("plan", str(tmp_path))
    assert down.exit_code == 1
    lines = down.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("Error: account oslo: intouch:")
    assert "Traceback" not in down.output


def test_plain_http_to_a_remote_host_is_refused(tmp_path: Path, intouch: Emu):
    """Credentials never travel over plain http beyond loopback."""
    repo = make_repo(tmp_path, {"oslo": ("intouch", intouch)}, region="NO")
    repo.env = dict(repo.env, INTOUCH_URL="http://intouchapi.pswin.com/2")
    result = repo.cli("plan", str(tmp_path))
    assert result.exit_code == 1
    assert "refusing plain http to intouchapi.pswin.com" in result.stderr
