"""Audience checks and send impact end to end: the real CLI against the InTime and SMSConnector
emulators over HTTP."""

from __future__ import annotations

import json
from pathlib import Path

from reconciler.pii import Masker, load_key
from tests.e2e.conftest import Emu, Repo, make_repo

ANN, BO, CAI = "+46701234561", "+46701234562", "+46701234563"
ACCOUNT_EXTRA = "    price_per_segment: {amount: 0.045, currency: SEK}\n"


def _intime_repo(tmp_path: Path, intime: Emu, exclude: bool) -> Repo:
    repo = make_repo(tmp_path, {"clinic": ("intime", intime)})
    config = (tmp_path / "reconciler.yaml").read_text()
    marker = 'hash: "${INTIME_HASH}"}\n'
    repo.write("reconciler.yaml", config.replace(marker, marker + ACCOUNT_EXTRA))
    flag = "    exclude_opted_out: true\n" if exclude else ""
    repo.write(
        "clinic.yaml",
        f"""\
account: clinic
groups:
  - name: Customers
contacts:
  - {{mobile: "{ANN}", first_name: Ann, groups: [Customers]}}
  - {{mobile: "{BO}", first_name: Bo, groups: [Customers]}}
blocklist:
  - mobile: "{CAI}"
campaigns:
  - name: winter-sale
    text: "Winter sale: 20% off until Sunday. Reply STOP to opt out."
    sender: Shop
    send_at: 2027-01-15T10:00:00
    to: {{groups: [Customers], numbers: ["{CAI}"]}}
{flag}""",
    )
    return repo


def test_opted_out_group_member_fails_the_plan_until_excluded(tmp_path: Path, intime: Emu):
    """A blocked group member and a declared-blocked direct number fail the plan, masked; with
    exclude_opted_out the plan passes, shows the excluded count, applies without them and converges."""
    intime.emulator.add_nix(BO)
    repo = _intime_repo(tmp_path, intime, exclude=False)
    repo.env = dict(repo.env, RECONCILER_PII_KEY="audience")
    masker = Masker(load_key(tmp_path, {"RECONCILER_PII_KEY": "audience"}))
    failed = repo.cli("plan", str(tmp_path))
    assert failed.exit_code == 1, failed.output
    expected = (
        f"campaign 'winter-sale' would send to 2 recipients who opted out: {masker.number(BO)} is on the "
        f"blocklist, {masker.number(CAI)} is declared in the blocklist (remove them from its recipients, "
        "or set exclude_opted_out: true to leave them out)"
    )
    [error] = [line for line in failed.output.splitlines() if "would send to" in line]
    assert expected in error
    assert BO not in error and BO.removeprefix("+") not in error and CAI not in error
    # The masked Markdown plan tags Bo's contact as the error tags him, so a reviewer can match them.
    markdown = repo.cli("plan", str(tmp_path), "--format", "markdown").stdout
    bo = masker.number(BO).replace("#", "\\#")  # Markdown escapes the tag's '#'
    [md_error] = [line for line in markdown.splitlines() if "would send to" in line]
    assert bo in md_error and bo in markdown.replace(md_error, ""), markdown

    repo = _intime_repo(tmp_path, intime, exclude=True)
    planned = repo.cli("plan", str(tmp_path))
    assert planned.exit_code == 2, planned.output
    impact = (
        "at least 1 recipient (2 opted out, excluded; members added outside the tool not counted), "
        "GSM-7, 1 segment each, 1 SMS, 0.045 SEK"
    )
    assert f"# impact: {impact}" in planned.output
    assert "clinic: 1 campaign, 1 SMS to 1 recipient, 0.045 SEK" in planned.output

    as_json = json.loads(repo.cli("plan", str(tmp_path), "--format", "json").stdout)
    [campaign] = [c for c in as_json["changes"] if c["type"] == "campaigns"]
    assert campaign["impact"] == {
        "recipients": 1,
        "excluded": 2,
        "exact": False,  # InTime cannot list contacts: members added elsewhere are unknown
        "encoding": "GSM-7",
        "characters": 57,
        "segments": 1,
        "total_sms": 1,
        "cost": {"amount": 0.045, "currency": "SEK"},
    }
    assert "exclude_opted_out" not in campaign["after"] and "numbers" not in campaign["after"]["to"]

    applied = repo.cli("apply", str(tmp_path), "--auto-approve")
    assert applied.exit_code == 0, applied.output
    [message] = intime.emulator.messages()
    assert message["recipients"] == [] and CAI not in json.dumps(message)
    assert repo.cli("plan", str(tmp_path)).exit_code == 0


def test_stop_on_a_phone_list_is_excluded_and_counted(tmp_path: Path, smsconnector: Emu):
    """An SMSConnector STOP on a campaign's list fails the plan; exclude_opted_out counts it instead."""
    repo = make_repo(tmp_path, {"uk": ("smsconnector", smsconnector)})
    smsconnector.emulator.add_stop("07700 900002", "2026-11-01T10:00:00Z")
    text = """\
account: uk
phone_lists:
  - name: VIP
    numbers: ["07700 900001", "07700 900002", "07700 900003"]
campaigns:
  - name: preview
    text: "VIP preview – 20% off everything tomorrow from 9 to 5 in all stores. Reply STOP to opt out."
    sender: "82830"
    send_at: 2027-03-06T09:00:00Z
    to: {phone_lists: [VIP]}
"""
    repo.write("uk.yaml", text)
    failed = repo.cli("plan", str(tmp_path))
    assert failed.exit_code == 1
    assert "texted STOP on 2026-11-01 and not START since" in failed.output
    repo.write("uk.yaml", text + "    exclude_opted_out: true\n")
    planned = repo.cli("plan", str(tmp_path), "--format", "markdown")
    assert planned.exit_code == 2, planned.output
    assert "### Send impact" in planned.stdout
    assert "2 recipients (1 opted out, excluded), UCS-2, 2 segments each, 4 SMS" in planned.stdout
    assert "'–' (U+2013 EN DASH) at column 13 of the text" in planned.output  # the validate warning
