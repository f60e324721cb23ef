"""Ignore rules end to end: a sign-up form's contacts stay out of plan, drift and apply."""

from __future__ import annotations

import json
from pathlib import Path

from tests.e2e.conftest import Emu, make_repo

RULES = """\
    ignore:
      - {type: contacts, key: "+4741*"}
      - {type: contacts, fields: [description]}
      - {type: groups, key: "Form *"}
"""
PEOPLE = """\
account: oslo
groups:
  - name: Staff
contacts:
  - {mobile: "+47 905 50 000", first_name: Kari, groups: [Staff]}
"""


def _repo(tmp_path: Path, intouch: Emu, rules: str = RULES):
    repo = make_repo(tmp_path, {"oslo": ("intouch", intouch)}, region="NO", prune={"oslo": ["contacts"]})
    config = (tmp_path / "reconciler.yaml").read_text()
    repo.write(
        "reconciler.yaml", config.replace("    prune: [contacts]\n", "    prune: [contacts]\n" + rules)
    )
    repo.write("people.yaml", PEOPLE)
    return repo


def test_sign_up_contacts_stay_out_of_plan_and_drift(tmp_path: Path, intouch: Emu):
    """A form's contacts, its group (with a declared contact in it) and descriptions stay out of plans."""
    form = intouch.emulator.add_group("Form signups")
    staff = intouch.emulator.add_group("Staff")
    intouch.emulator.add_member(form, intouch.emulator.add_contact("4741000001", first_name="Form"))
    kari = intouch.emulator.add_contact("4790550000", first_name="Kari", description="via the form")
    intouch.emulator.add_member(form, kari)
    intouch.emulator.add_member(staff, kari)
    bare = _repo(tmp_path / "bare", intouch, rules="")
    data = json.loads(bare.cli("plan", str(bare.root), "--format", "json").stdout)
    assert [(c["key"], c["action"]) for c in data["changes"]] == [
        ("Form signups|+4790550000", "delete"),
        ("+4741000001", "delete"),
    ]
    assert [w["key"] for w in data["warnings"]] == ["Form signups"]

    repo = _repo(tmp_path / "shared", intouch)
    plan = repo.cli("plan", str(repo.root), "--format", "json")
    assert plan.exit_code == 0, plan.output
    data = json.loads(plan.stdout)
    assert data["changes"] == [] and data["warnings"] == []
    drift = repo.cli("drift", str(repo.root))
    assert drift.exit_code == 0, drift.output
    intouch.emulator.add_contact("4741000002", first_name="Later")
    repo.write("people.yaml", PEOPLE.replace("Kari", "Kari Anne"))
    applied = repo.cli("apply", str(repo.root), "--auto-approve")
    assert applied.exit_code == 0, applied.output
    by_number = {c["PhoneNumber"]: c for c in intouch.emulator.contacts()}
    assert set(by_number) >= {"4741000001", "4741000002"}
    assert by_number["4790550000"]["Description"] == "via the form"
    assert repo.cli("drift", str(repo.root)).exit_code == 0


def test_declaring_what_a_rule_hides_is_a_validation_error(tmp_path: Path, intouch: Emu):
    """A declared contact a key rule hides, or a declared ignored field, fails validate at file:line."""
    repo = _repo(tmp_path, intouch)
    repo.write(
        "people.yaml",
        PEOPLE + '  - {mobile: "+47 41 00 00 01"}\n  - {mobile: "+47 905 50 001", description: x}\n',
    )
    result = repo.cli("validate", str(repo.root))
    assert result.exit_code == 1
    lines = result.stderr.splitlines()
    assert lines[0].endswith(
        "people.yaml:6:5: contacts[1]: contacts '+4741000001' is hidden by the ignore rule "
        "{type: contacts, key: '+4741*'} at " + str(repo.root / "reconciler.yaml") + ":10:9 "
        "(remove the item, or narrow the rule's key)"
    )
    assert "contacts[2].description: field 'description' is ignored by the rule" in lines[1]
