"""A plan reads the live accounts while the resource files load (issue 11), and abandons that
read when the config turns out invalid.

The proof of overlap is an order of events, not a time: the resource-file check waits until the
emulator has seen a request. Without the early refresh no request comes before the load ends, so
that wait would run out and the plan would not happen.
"""

from __future__ import annotations

import threading
import time
from pathlib import Path
from typing import Any

import pytest

from reconciler.config import validate
from reconciler.config.load import load_config
from reconciler.sandbox.server import Faults
from tests.e2e.conftest import Emu, make_repo

GROUPS = 20
RESOURCES = "account: no\ngroups:\n" + "".join(f"  - name: G{i}\n" for i in range(GROUPS)) + (
    "contacts:\n  - {mobile: '+4790550001', first_name: Ann, groups: [G0]}\n"
)


def requests_seen(emu: Emu) -> int:
    return sum(emu.emulator.counts.values())


def wait_for_request(emu: Emu, monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """Make the resource-file check wait for the emulator's first request; returns what it saw."""
    seen: list[int] = []
    original = validate.Resources.check

    def check(self: validate.Resources, docs: Any) -> Any:
        deadline = time.monotonic() + 20
        while requests_seen(emu) == 0 and time.monotonic() < deadline:
            time.sleep(0.005)
        seen.append(requests_seen(emu))
        return original(self, docs)

    monkeypatch.setattr(validate.Resources, "check", check)
    return seen


def test_plan_reads_the_accounts_while_the_resource_files_load(
    tmp_path: Path, intouch: Emu, monkeypatch: pytest.MonkeyPatch
) -> None:
    repo = make_repo(tmp_path, {"no": ("intouch", intouch)}, region="NO")
    repo.write("resources.yaml", RESOURCES)
    intouch.emulator.reset_counts()
    seen = wait_for_request(intouch, monkeypatch)
    result = repo.cli("plan", str(repo.root))
    assert result.exit_code == 2, result.output
    assert seen and seen[0] >= 1  # the refresh had begun before the resources were checked
    assert "+ groups G19" in result.output or "G19" in result.output
    assert intouch.emulator.counts[("GET", "/2/contacts")] == 1  # read once, not again after the load


def test_an_invalid_config_abandons_the_early_refresh(
    tmp_path: Path, intouch: Emu, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The config problem is reported as always; the reads still to come are never sent."""
    repo = make_repo(tmp_path, {"no": ("intouch", intouch)}, region="NO")
    repo.write("resources.yaml", RESOURCES)
    assert repo.cli("apply", str(repo.root), "--auto-approve").exit_code == 0  # live groups to read
    repo.write("resources.yaml", RESOURCES + "  - {mobile: 'not a number', first_name: Bo}\n")
    intouch.emulator.faults = Faults.parse("latency:ms=100")
    intouch.emulator.reset_counts()
    wait_for_request(intouch, monkeypatch)
    result = repo.cli("plan", str(repo.root))
    assert result.exit_code == 1
    assert "resources.yaml:" in result.output and "not a number" in result.output
    assert "Traceback" not in result.output
    after = requests_seen(intouch)
    full = 3 + GROUPS  # groups, contacts, user and one member list per group
    assert after < full, f"{after} requests: the refresh went on after the config failed"
    time.sleep(0.3)
    assert requests_seen(intouch) == after  # nothing is left running in the background
    assert not [t for t in threading.enumerate() if t.name == "refresh" or t.name.startswith("read_")]


def test_an_error_in_reconciler_yaml_starts_no_refresh(tmp_path: Path, intouch: Emu) -> None:
    """Nothing is read from a provider while reconciler.yaml itself has an error."""
    repo = make_repo(tmp_path, {"no": ("intouch", intouch)}, region="NO", extra="bogus: 1\n")
    repo.write("resources.yaml", RESOURCES)
    intouch.emulator.reset_counts()
    result = repo.cli("plan", str(repo.root))
    assert result.exit_code == 1
    assert requests_seen(intouch) == 0


def test_load_config_reports_the_accounts_before_the_resource_files(tmp_path: Path, intouch: Emu) -> None:
    repo = make_repo(tmp_path, {"no": ("intouch", intouch)}, region="NO")
    repo.write("resources.yaml", RESOURCES)
    early: list[Any] = []
    config = load_config(repo.root, repo.env, on_accounts=early.append)
    assert len(early) == 1
    assert list(early[0].accounts) == ["no"] and not early[0].desired
    assert early[0].accounts["no"] == config.accounts["no"]
    assert early[0].state_path == config.state_path
