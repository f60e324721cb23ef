"""End to end: `reconciler drift` against the Intouch and InTime emulators over HTTP."""

from __future__ import annotations

import json
from pathlib import Path

import jsonschema
import pytest

from reconciler.sandbox.server import Faults
from tests.e2e.conftest import Emu, Repo, make_repo

ROOT = Path(__file__).resolve().parents[2]

OSLO = """\
account: oslo
groups:
  - name: Staff
contacts:
  - mobile: "+47 905 50 001"
    first_name: Kari
    last_name: Nordmann
    groups: [Staff]
  - mobile: "+47 905 50 002"
    first_name: Ola
    last_name: Hansen
"""

BERGEN = """\
account: bergen
groups:
  - name: Patients
contacts:
  - mobile: "+46 70 234 56 78"
    first_name: Hans
    last_name: Evertsson
"""


@pytest.fixture
def repo(tmp_path: Path, intouch: Emu, intime: Emu) -> Repo:
    """Two accounts (Intouch and InTime) applied once, so the live side starts in sync."""
    repo = make_repo(tmp_path, {"oslo": ("intouch", intouch), "bergen": ("intime", intime)}, region="NO")
    repo.write("oslo.yaml", OSLO)
    repo.write("bergen.yaml", BERGEN)
    applied = repo.cli("apply", str(tmp_path), "--auto-approve")
    assert applied.exit_code == 0, applied.output
    return repo


def drift_json(repo: Repo, *args: str) -> tuple[int, dict]:
    result = repo.cli("drift", str(repo.root), "--format", "json", *args)
    return result.exit_code, json.loads(result.stdout)


def cells(report: dict) -> dict[str, str]:
    return {f"{c['account']}/{c['type']}": c["status"] for c in report["cells"]}


def test_in_sync_accounts_report_every_checked_type(repo: Repo):
    """Right after apply every listable type is in sync; unlistable InTime types are not auditable."""
    code, report = drift_json(repo)
    assert code == 0
    assert cells(report) == {
        "bergen/groups": "in_sync",
        "bergen/contacts": "not_auditable",
        "bergen/blocklist": "in_sync",
        "bergen/reminders": "in_sync",
        "bergen/campaigns": "not_auditable",
        "oslo/groups": "in_sync",
        "oslo/contacts": "in_sync",
        "oslo/memberships": "in_sync",
    }
    schema = json.loads((ROOT / "schemas" / "drift.schema.json").read_text())
    jsonschema.Draft202012Validator(schema).validate(report)


def test_out_of_band_change_shows_both_values_and_names_the_live_side(repo: Repo, intouch: Emu):
    """A contact renamed in the provider is drift: the report says what live has and what is declared."""
    intouch.emulator.rename_contact("4790550001", first_name="Karianne")
    code, report = drift_json(repo)
    assert code == 2
    assert cells(report)["oslo/contacts"] == "drifted"
    (item,) = report["items"]
    assert (item["account"], item["type"], item["key"], item["kind"]) == (
        "oslo",
        "contacts",
        "+4790550001",
        "changed",
    )
    assert item["fields"] == [{"path": "first_name", "live": "Karianne", "declared": "Kari"}]
    text = repo.cli("drift", str(repo.root))
    assert text.exit_code == 2
    assert 'first_name: live has "Karianne", declared "Kari"' in text.stdout
    assert "Run `reconciler apply` to restore the declared state" in text.stdout


def test_unmanaged_live_items_appear_with_their_live_values(repo: Repo, intouch: Emu):
    """A contact added in the provider and declared nowhere is listed as unmanaged, with its live name."""
    intouch.emulator.add_contact("4790550099", first_name="Per", last_name="Olsen")
    code, report = drift_json(repo)
    assert code == 0  # unmanaged items do not fail the audit by default
    (item,) = report["items"]
    assert (item["key"], item["kind"]) == ("+4790550099", "unmanaged")
    assert item["live"]["first_name"] == "Per"
    assert (
        report["cells"][[c["type"] for c in report["cells"]].index("contacts", 5)]["counts"]["unmanaged"] == 1
    )
    failing, _ = drift_json(repo, "--fail-on", "drift,unmanaged")
    assert failing == 2


def test_unreadable_type_is_failed_with_the_reason_and_the_rest_is_still_audited(repo: Repo, intouch: Emu):
    """Groups that cannot be read (HTTP 500 on every try) are failed; contacts are still audited."""
    intouch.emulator.rename_contact("4790550002", last_name="Berg")
    intouch.emulator.faults = Faults.parse("error:method=GET:path=/groups")
    result = repo.cli("drift", str(repo.root), "--format", "json")
    assert result.exit_code == 1
    report = json.loads(result.stdout)
    statuses = cells(report)
    assert statuses["oslo/groups"] == "failed"
    assert statuses["oslo/memberships"] == "failed"  # read with the groups
    assert statuses["oslo/contacts"] == "drifted"
    failed = next(c for c in report["cells"] if c["type"] == "groups" and c["account"] == "oslo")
    assert "500" in failed["reason"]
    assert [i["key"] for i in report["items"]] == ["+4790550002"]


def test_type_that_cannot_be_listed_is_not_auditable_and_says_what_state_knows(repo: Repo):
    """InTime contacts cannot be listed: the report says so, why, and what the state file holds."""
    code, report = drift_json(repo, "--account", "bergen", "--fail-on", "unauditable")
    assert code == 2
    contacts = next(c for c in report["cells"] if c["type"] == "contacts")
    assert contacts["status"] == "not_auditable"
    assert "cannot list contacts" in contacts["reason"]
    assert contacts["known"].startswith("1 item(s) recorded in the state file")
    text = repo.cli("drift", str(repo.root), "--account", "bergen").stdout
    assert "Not auditable:" in text and "bergen / contacts" in text


def test_failed_login_fails_every_type_of_that_account_only(repo: Repo):
    """Wrong credentials for one account fail its types; the other account is still reported."""
    repo.env = dict(repo.env, INTOUCH_PASSWORD="not-the-password")
    result = repo.cli("drift", str(repo.root), "--format", "json")
    assert result.exit_code == 1, result.stderr
    assert result.stdout, result.stderr
    statuses = cells(json.loads(result.stdout))
    assert {statuses[f"oslo/{t}"] for t in ("groups", "contacts", "memberships")} == {"failed"}
    assert statuses["bergen/groups"] == "in_sync"
    assert "not-the-password" not in result.output
