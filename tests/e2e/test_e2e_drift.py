"""End to end: `reconciler drift` against the Intouch and InTime emulators over HTTP."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import threading
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import jsonschema
import pytest
import xmlschema

from reconciler import cli_drift
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


class Receiver:
    """A local webhook receiver on loopback that records the JSON bodies posted to it."""

    def __init__(self, status: int = 200) -> None:
        self.bodies: list[dict] = []
        self.status = status
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802 - http.server's name
                length = int(self.headers.get("Content-Length") or 0)
                receiver.bodies.append(json.loads(self.rfile.read(length)))
                self.send_response(receiver.status)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.thread = threading.Thread(target=self.server.serve_forever, args=(0.05,), daemon=True)
        self.thread.start()
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hooks/T000/secret-token"

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    running = Receiver()
    yield running
    running.close()


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch) -> list[datetime]:
    """The audit's clock: each run takes the next time from the list (one hour apart)."""
    times = [datetime(2026, 11, 30, 6 + i, 0, tzinfo=UTC) for i in range(8)]
    monkeypatch.setattr(cli_drift, "utcnow", lambda: times.pop(0))
    return times


def test_history_over_three_runs_shows_since_when_a_type_has_drifted(repo: Repo, intouch: Emu, clock):
    """Run 1 in sync, drift appears before run 2, still there at run 3: drifted since run 2's time."""
    history = repo.root / "drift.jsonl"
    assert repo.cli("drift", str(repo.root), "--history", str(history)).exit_code == 0
    intouch.emulator.rename_contact("4790550001", first_name="Karianne")
    assert repo.cli("drift", str(repo.root), "--history", str(history)).exit_code == 2
    intouch.emulator.add_contact("4790550099", first_name="Per", last_name="Olsen")
    code, report = drift_json(repo, "--history", str(history))
    assert code == 2
    contacts = next(c for c in report["cells"] if (c["account"], c["type"]) == ("oslo", "contacts"))
    assert contacts["since"] == "2026-11-30T07:00:00Z"
    assert contacts["trend"] == [0, 1, 2]
    groups = next(c for c in report["cells"] if (c["account"], c["type"]) == ("oslo", "groups"))
    assert "since" not in groups and groups["trend"] == [0, 0, 0]
    lines = [json.loads(line) for line in history.read_text().splitlines()]
    assert [line["time"] for line in lines] == [
        "2026-11-30T06:00:00Z",
        "2026-11-30T07:00:00Z",
        "2026-11-30T08:00:00Z",
    ]
    assert lines[2]["cells"]["oslo/contacts"] == {
        "status": "drifted",
        "changed": 1,
        "missing": 0,
        "extra": 0,
        "unmanaged": 1,
    }
    assert "Per" not in history.read_text() and "4790550099" not in history.read_text()
    text = repo.cli("drift", str(repo.root), "--history", str(history)).stdout
    assert (
        "oslo / contacts: drifted: 1 changed, 1 unmanaged live (drifted since 2026-11-30T07:00:00Z; " in text
    )
    assert "last 4 runs: 0 1 2 2" in text


def test_notification_once_when_drift_appears_and_once_when_resolved(
    repo: Repo, intouch: Emu, receiver: Receiver, clock
):
    """Four runs (in sync, drift, same drift, restored): a post on the 2nd and the 4th run only."""
    history = str(repo.root / "drift.jsonl")

    def run() -> int:
        result = repo.cli("drift", str(repo.root), "--history", history, "--notify", receiver.url)
        assert "secret-token" not in result.output
        return result.exit_code

    assert run() == 0 and receiver.bodies == []
    intouch.emulator.rename_contact("4790550001", first_name="Karianne")
    assert run() == 2 and len(receiver.bodies) == 1
    appeared = receiver.bodies[0]
    assert appeared["event"] == "drift" and appeared["drifted"] == ["oslo/contacts"]
    assert appeared["new"][0]["counts"]["changed"] == 1
    assert "new drift in oslo/contacts (1 changed)" in appeared["text"]
    assert "Karianne" not in json.dumps(appeared)
    assert run() == 2 and len(receiver.bodies) == 1  # nothing new: no post
    assert repo.cli("apply", str(repo.root), "--auto-approve").exit_code == 0
    assert run() == 0 and len(receiver.bodies) == 2
    resolved = receiver.bodies[1]
    assert resolved["event"] == "resolved" and resolved["resolved"] == ["oslo/contacts"]
    assert resolved["drifted"] == [] and "in sync again" in resolved["text"]


def test_failed_notification_is_reported_keeps_the_drift_result_and_is_retried(
    repo: Repo, intouch: Emu, receiver: Receiver, clock
):
    """A webhook answering 500 gives a warning, exit 2 stays, and the next run posts again."""
    history = str(repo.root / "drift.jsonl")
    intouch.emulator.rename_contact("4790550001", first_name="Karianne")
    receiver.status = 500
    failed = repo.cli("drift", str(repo.root), "--history", history, "--notify", receiver.url)
    assert failed.exit_code == 2
    assert "drift notification was not delivered" in failed.stderr and "HTTP 500" in failed.stderr
    assert "secret-token" not in failed.output
    assert 'live has "Karianne"' in failed.stdout
    receiver.status = 200
    again = repo.cli("drift", str(repo.root), "--history", history, "--notify", receiver.url)
    assert again.exit_code == 2 and len(receiver.bodies) == 2
    assert receiver.bodies[1]["event"] == "drift"


def test_notify_needs_history_and_an_https_or_loopback_url(repo: Repo):
    """--notify without --history, or to a plain-http remote host, is refused before any read."""
    alone = repo.cli("drift", str(repo.root), "--notify", "https://hooks.example/T0/abc")
    assert alone.exit_code == 1 and "--notify needs --history FILE" in alone.stderr
    plain = repo.cli(
        "drift",
        str(repo.root),
        "--history",
        str(repo.root / "h.jsonl"),
        "--notify",
        "http://hooks.example/T0/tok",
    )
    assert plain.exit_code == 1 and "not an https URL" in plain.stderr and "tok" not in plain.stderr


def test_junit_report_validates_and_lists_every_checked_account_and_type(
    repo: Repo, intouch: Emu, intime: Emu
):
    """`drift --format junit` against the emulators: valid Jenkins JUnit, one testcase per checked cell."""
    intouch.emulator.rename_contact("4790550001", first_name="Karianne")
    intime.emulator.faults = Faults.parse("error:path=reminder")
    out = repo.root / "drift.xml"
    result = repo.cli("drift", str(repo.root), "--format", "junit", "--output", str(out))
    assert result.exit_code == 1, result.output  # the failed read is an error
    text = out.read_text(encoding="utf-8")
    xmlschema.XMLSchema(str(ROOT / "tests" / "fixtures" / "junit" / "jenkins-junit.xsd")).validate(text)
    found = {}
    for case in ET.fromstring(text).iter("testcase"):
        tags = [child.tag for child in case if child.tag != "system-out"]
        found[f"{case.get('classname')}/{case.get('name')}"] = tags[0] if tags else "passed"
    assert found == {
        "bergen/groups": "passed",
        "bergen/contacts": "skipped",
        "bergen/blocklist": "passed",
        "bergen/reminders": "error",
        "bergen/campaigns": "skipped",
        "oslo/groups": "passed",
        "oslo/contacts": "failure",
        "oslo/memberships": "passed",
    }
    assert "Karianne" not in text and "4790550001" not in text  # masked by default


def test_report_names_the_git_revision_of_the_config(repo: Repo):
    """In a git repository the report carries the commit, marked +changes when tracked files differ."""
    if shutil.which("git") is None:
        pytest.skip("git is not installed")
    assert drift_json(repo)[1]["revision"] == ""  # not a git repository yet
    env = dict(os.environ, GIT_AUTHOR_NAME="t", GIT_AUTHOR_EMAIL="t@example.invalid")
    env.update(GIT_COMMITTER_NAME="t", GIT_COMMITTER_EMAIL="t@example.invalid")
    for args in (
        ["init", "-q"],
        ["add", "oslo.yaml", "bergen.yaml", "reconciler.yaml"],
        ["commit", "-qm", "c"],
    ):
        subprocess.run(["git", "-C", str(repo.root), *args], check=True, env=env, capture_output=True)
    head = subprocess.run(
        ["git", "-C", str(repo.root), "rev-parse", "HEAD"], check=True, capture_output=True, text=True
    ).stdout.strip()
    assert drift_json(repo)[1]["revision"] == head[:12]
    repo.write("bergen.yaml", BERGEN + '  - mobile: "+46 70 234 56 79"\n')
    assert drift_json(repo)[1]["revision"] == head[:12] + "+changes"
    html = repo.cli("drift", str(repo.root), "--format", "html").stdout
    assert f"config revision <code>{head[:12]}+changes</code>" in html


def test_bad_options_are_one_line_errors(repo: Repo):
    """An unknown --fail-on word, contradicting PII flags, --show-pii under CI=true: exit 1, one line."""
    bad = repo.cli("drift", str(repo.root), "--fail-on", "drift,typo")
    assert bad.exit_code == 1 and bad.stderr.startswith("Error: --fail-on: 'typo' is not one of:")
    both = repo.cli("drift", str(repo.root), "--show-pii", "--mask-pii")
    assert both.exit_code == 1 and "contradict" in both.stderr
    repo.env = dict(repo.env, CI="true")
    refused = repo.cli("drift", str(repo.root), "--format", "markdown", "--show-pii")
    assert refused.exit_code == 1 and "--show-pii=force" in refused.stderr
    forced = repo.cli("drift", str(repo.root), "--format", "markdown", "--show-pii=force")
    assert forced.exit_code == 0 and "| oslo | in sync |" in forced.stdout
