"""End to end against the Intouch emulator: plan, apply, converge, and detect drift."""

from __future__ import annotations

import json
from pathlib import Path

import jsonschema

from tests.e2e.conftest import Emu, make_repo

ROOT = Path(__file__).resolve().parents[2]


def contacts_yaml(last_name_of_first: str = "Svensson", first_number: str = "+47 905 50 000") -> str:
    rows = [
        "account: no-main",
        "groups:",
        "  - name: Staff",
        "  - name: Customers",
        "  - name: VIP",
        "    description: Best customers",
        "contacts:",
    ]
    for i in range(50):
        number = first_number if i == 0 else f"+479055{i:04d}"
        last = last_name_of_first if i == 0 else f"Person{i}"
        group = ["Staff", "Customers", "VIP"][i % 3]
        rows += [
            f'  - mobile: "{number}"',
            f"    first_name: Name{i}",
            f"    last_name: {last}",
            f"    groups: [{group}]",
        ]
    return "\n".join(rows) + "\n"


def test_fresh_apply_converges_and_one_edit_is_one_update(tmp_path: Path, intouch: Emu):
    """3 groups + 50 contacts: 53 creates + memberships; apply; empty replan; one field edit is one update."""
    repo = make_repo(tmp_path, {"no-main": ("intouch", intouch)}, region="NO")
    repo.write("people.yaml", contacts_yaml())
    assert repo.cli("validate", str(tmp_path)).exit_code == 0

    plan = repo.cli("plan", str(tmp_path), "--format", "json")
    assert plan.exit_code == 2, plan.output
    data = json.loads(plan.stdout)
    creates = [c for c in data["changes"] if c["action"] == "create"]
    assert len([c for c in creates if c["type"] in ("groups", "contacts")]) == 53
    assert len([c for c in creates if c["type"] == "memberships"]) == 50
    schema = json.loads((ROOT / "schemas" / "plan.schema.json").read_text())
    jsonschema.Draft202012Validator(schema).validate(data)

    applied = repo.cli("apply", str(tmp_path), "--auto-approve")
    assert applied.exit_code == 0, applied.output
    assert len(intouch.emulator.contacts()) == 50

    again = repo.cli("plan", str(tmp_path))
    assert again.exit_code == 0, again.output
    assert "No changes" in again.stdout

    repo.write("people.yaml", contacts_yaml(last_name_of_first="Lind"))
    edit = repo.cli("plan", str(tmp_path), "--format", "json")
    assert edit.exit_code == 2
    changes = json.loads(edit.stdout)["changes"]
    assert [(c["action"], c["key"], c["fields"]) for c in changes] == [
        ("update", "+4790550000", ["last_name"])
    ]
    assert changes[0]["before"] == {"last_name": "Svensson"} and changes[0]["after"] == {"last_name": "Lind"}

    repo.write("people.yaml", contacts_yaml(first_number="90550000"))
    same = repo.cli("plan", str(tmp_path))
    assert same.exit_code == 0, same.output


def test_change_behind_the_tools_back_is_planned_as_an_update(tmp_path: Path, intouch: Emu):
    """A contact renamed in the provider shows up as an update of that field in the next plan."""
    repo = make_repo(tmp_path, {"no-main": ("intouch", intouch)}, region="NO")
    repo.write("people.yaml", contacts_yaml())
    assert repo.cli("apply", str(tmp_path), "--auto-approve").exit_code == 0
    intouch.emulator.rename_contact("4790550001", first_name="Renamed")
    plan = repo.cli("plan", str(tmp_path), "--format", "json")
    assert plan.exit_code == 2
    changes = json.loads(plan.stdout)["changes"]
    assert [(c["action"], c["key"], c["fields"]) for c in changes] == [
        ("update", "+4790550001", ["first_name"])
    ]
    assert changes[0]["after"] == {"first_name": "Name1"}


def test_membership_change_is_a_membership_operation(tmp_path: Path, intouch: Emu):
    """Moving a contact to another group detaches and attaches; the contact itself is not rewritten."""
    repo = make_repo(tmp_path, {"no-main": ("intouch", intouch)}, region="NO")
    repo.write("people.yaml", contacts_yaml())
    assert repo.cli("apply", str(tmp_path), "--auto-approve").exit_code == 0
    text = contacts_yaml().replace("    groups: [Staff]\n", "    groups: [VIP]\n", 1)
    repo.write("people.yaml", text)
    intouch.emulator.reset_counts()
    plan = repo.cli("plan", str(tmp_path), "--format", "json")
    changes = json.loads(plan.stdout)["changes"]
    assert [(c["type"], c["action"], c["key"]) for c in changes] == [
        ("memberships", "delete", "Staff|+4790550000"),
        ("memberships", "create", "VIP|+4790550000"),
    ]
    intouch.emulator.reset_counts()
    assert repo.cli("apply", str(tmp_path), "--auto-approve").exit_code == 0
    assert intouch.emulator.count("PUT", "/contacts/") == 1  # the membership PUT, no contact PUT
    assert repo.cli("plan", str(tmp_path)).exit_code == 0


def test_no_secret_in_any_output_or_saved_plan(tmp_path: Path, intouch: Emu, caplog):
    """Credential values never appear in stdout, stderr, logs, the saved plan or the state."""
    repo = make_repo(tmp_path, {"no-main": ("intouch", intouch)}, region="NO")
    repo.write("people.yaml", contacts_yaml())
    outputs = []
    for args in (
        ["validate", str(tmp_path)],
        ["plan", str(tmp_path), "--out", str(tmp_path / "plan.json")],
        ["-vv", "apply", str(tmp_path), "--auto-approve"],
        ["drift", str(tmp_path), "--format", "html"],
    ):
        result = repo.cli(*args)
        outputs += [result.stdout, result.stderr]
    wrong = dict(repo.env, INTOUCH_PASSWORD="wrong-password-123")
    repo.env = wrong
    failed = repo.cli("plan", str(tmp_path))
    assert failed.exit_code == 1 and "Error:" in failed.stderr
    outputs += [failed.stdout, failed.stderr]
    files = [
        p.read_text(encoding="utf-8")
        for p in tmp_path.rglob("*")
        if p.is_file() and p.suffix in (".json", ".journal")
    ]
    blob = "\n".join(outputs + files + [caplog.text])
    for secret in (intouch.credentials["password"], "wrong-password-123"):
        assert secret not in blob
