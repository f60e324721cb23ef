"""Protection end to end against the Intouch emulator: it outlives the YAML until lifted."""

from __future__ import annotations

import json
from pathlib import Path

from tests.e2e.conftest import Emu, make_repo

KARI = '  - {mobile: "+47 905 50 000", first_name: Kari, protect: true}\n'
OLA = '  - {mobile: "+47 905 50 001", first_name: Ola}\n'
ADDRESS = "oslo/contacts/+4790550000"


def _numbers(emu: Emu) -> list[str]:
    return sorted(c["PhoneNumber"] for c in emu.emulator.contacts())


def test_protection_survives_removing_the_item_and_its_protect_line(tmp_path: Path, intouch: Emu):
    """Deleting a protected contact with its protect line is refused, --force too, until state unprotect."""
    repo = make_repo(tmp_path, {"oslo": ("intouch", intouch)}, region="NO", prune={"oslo": ["contacts"]})
    repo.write("people.yaml", "account: oslo\ncontacts:\n" + KARI + OLA)
    first = repo.cli("apply", str(tmp_path), "--auto-approve")
    assert first.exit_code == 0, first.output
    assert f"Protected: {ADDRESS}" in first.stderr
    assert f"{ADDRESS}\tNone\t(protected)" in repo.cli("state", "list", "--dir", str(tmp_path)).stdout

    repo.write("people.yaml", "account: oslo\ncontacts:\n" + OLA)
    refusal = (
        f"{ADDRESS} is protected (recorded in the state), so the plan may not delete it (apply it "
        f"with protect: false first, or run `reconciler state unprotect {ADDRESS}`)"
    )
    plan = repo.cli("plan", str(tmp_path), "--format", "json")
    assert plan.exit_code == 1 and json.loads(plan.stdout)["errors"] == [refusal]
    for flags in ((), ("--force",), ("--force", "--skip-unsupported")):
        refused = repo.cli("apply", str(tmp_path), "--auto-approve", *flags)
        assert refused.exit_code == 1 and f"Error: {refusal}" in refused.output
    assert _numbers(intouch) == ["4790550000", "4790550001"]

    lifted = repo.cli("state", "unprotect", ADDRESS, "--dir", str(tmp_path))
    assert lifted.exit_code == 0 and lifted.stdout == f"Unprotected {ADDRESS}.\n"
    assert repo.cli("apply", str(tmp_path), "--auto-approve").exit_code == 0
    assert _numbers(intouch) == ["4790550001"]
    assert repo.cli("state", "list", "--dir", str(tmp_path)).stdout == ""


def test_applying_protect_false_lifts_the_protection(tmp_path: Path, intouch: Emu):
    """protect: false, once applied, lifts the protection; the next removal deletes the contact."""
    repo = make_repo(tmp_path, {"oslo": ("intouch", intouch)}, region="NO", prune={"oslo": ["contacts"]})
    repo.write("people.yaml", "account: oslo\ncontacts:\n" + KARI + OLA)
    assert repo.cli("apply", str(tmp_path), "--auto-approve").exit_code == 0
    repo.write("people.yaml", "account: oslo\ncontacts:\n" + KARI.replace("true", "false") + OLA)
    plan = repo.cli("plan", str(tmp_path))
    assert plan.exit_code == 0, plan.output
    lifted = repo.cli("apply", str(tmp_path), "--auto-approve")
    assert lifted.exit_code == 0 and f"Unprotected: {ADDRESS}" in lifted.stderr
    repo.write("people.yaml", "account: oslo\ncontacts:\n" + OLA)
    assert repo.cli("apply", str(tmp_path), "--auto-approve").exit_code == 0
    assert _numbers(intouch) == ["4790550001"]
    unknown = repo.cli("state", "unprotect", ADDRESS, "--dir", str(tmp_path))
    assert unknown.exit_code == 1
    assert unknown.stderr == f"Error: {ADDRESS} is not protected in the state (see `reconciler state list`)\n"


CAMPAIGN = """\
account: uk
phone_lists:
  - {name: VIP, numbers: ["07700 900123"]}
campaigns:
  - name: spring
    text: "Spring preview. Reply STOP to opt out."
    sender: "82830"
    brand: Acme
    send_at: 2030-03-06T09:00:00+00:00
    to: {phone_lists: [VIP]}
    status: scheduled
    protect: true
"""


def test_a_tracked_campaign_keeps_its_protection_through_updates(tmp_path: Path, smsconnector: Emu):
    """A campaign's record keeps protect when apply re-records it; replacing or deleting it is refused."""
    repo = make_repo(tmp_path, {"uk": ("smsconnector", smsconnector)}, region="GB")
    repo.write("uk.yaml", CAMPAIGN)
    assert repo.cli("apply", str(tmp_path), "--auto-approve").exit_code == 0
    # An update that also drops the protect line: the re-recorded campaign stays protected.
    unlined = CAMPAIGN.replace("    protect: true\n", "")
    stopped = repo.write("uk.yaml", unlined.replace("status: scheduled", "status: stopped"))
    updated = repo.cli("apply", str(tmp_path), "--auto-approve")
    assert updated.exit_code == 0 and "~ campaigns spring" in updated.output, updated.output
    assert "Apply complete: 1 applied" in updated.output
    listing = repo.cli("state", "list", "--dir", str(tmp_path)).stdout
    assert "uk/campaigns/spring\t" in listing and listing.rstrip().endswith("(protected)"), listing
    stopped.write_text(unlined.replace("Spring preview.", "Spring sale."))
    replace = repo.cli("plan", str(tmp_path))
    assert replace.exit_code == 1
    assert (
        "uk/campaigns/spring is protected (recorded in the state), so the plan may not replace it"
        in replace.output
    )
    stopped.write_text(unlined.split("campaigns:")[0])
    delete = repo.cli("apply", str(tmp_path), "--auto-approve", "--force")
    assert delete.exit_code == 1
    assert (
        "uk/campaigns/spring is protected (recorded in the state), so the plan may not delete it"
        in delete.output
    )
