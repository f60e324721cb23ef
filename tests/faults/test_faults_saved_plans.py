"""Saved plans: `apply PLAN` applies exactly the reviewed changes, or refuses a stale or tampered plan.

The CLI runs in process against a served emulator; nothing may be applied when a plan is refused.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from reconciler.plan import checksum
from reconciler.providers.smsconnector.client import SmsConnectorClient
from reconciler.sandbox.smsconnector.emulator import SANDBOX_CREDENTIALS as SMSC_CREDENTIALS
from tests.faults.conftest import Served
from tests.faults.schedules import CHECKS


def snapshot(served: Served) -> Any:
    """Everything the emulator holds that an apply could change."""
    emulator: Any = served.emulator
    if served.provider == "intouch":
        return emulator.groups(), emulator.contacts()
    if served.provider == "intime":
        return (
            emulator.groups(),
            emulator.contacts(),
            emulator.nix(),
            emulator.reminders(),
            emulator.messages(),
        )
    return emulator.lists(), emulator.campaigns()


def change_behind_the_back(served: Served) -> str:
    """Change the live account outside reconciler; returns the account/type that changed."""
    emulator: Any = served.emulator
    if served.provider == "intouch":
        emulator.add_group("Added in the web UI")
        return "oslo/groups"
    if served.provider == "intime":
        emulator.add_nix("+46701119999")
        return "clinic/blocklist"
    client = SmsConnectorClient(served.site.env["SMSC_URL"], SMSC_CREDENTIALS)
    try:
        client.create_list("Added in the portal", 0)
    finally:
        client.close()
    return "acme/phone_lists"


def save_plan(served: Served, path: Path) -> dict[str, Any]:
    result = served.cli("plan", str(served.root), "--out", str(path))
    assert result.exit_code == 2, result.output
    data: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    return data


@pytest.mark.parametrize("provider", ["intouch", "intime", "smsconnector"])
def test_fresh_saved_plan_applies(provider: str, serve_repo: Callable[..., Served], tmp_path: Path) -> None:
    """An untouched plan applied right away exits 0 and leaves nothing to change."""
    served = serve_repo(provider)
    save_plan(served, tmp_path / "plan.json")
    applied = served.cli("apply", str(tmp_path / "plan.json"))
    assert applied.exit_code == 0, applied.output
    assert served.cli("plan", str(served.root)).exit_code == 0
    assert CHECKS[provider](served.emulator, set()) == []


@pytest.mark.parametrize("provider", ["intouch", "intime", "smsconnector"])
def test_stale_plan_is_refused_naming_what_changed(
    provider: str, serve_repo: Callable[..., Served], tmp_path: Path
) -> None:
    """A live change made after `plan --out` makes `apply PLAN` refuse, naming the changed account/type."""
    served = serve_repo(provider)
    save_plan(served, tmp_path / "plan.json")
    changed = change_behind_the_back(served)
    before = snapshot(served)
    refused = served.cli("apply", str(tmp_path / "plan.json"))
    assert refused.exit_code == 1
    assert "live state changed since the plan was made" in refused.output and changed in refused.output
    assert snapshot(served) == before


def test_plan_edited_by_hand_is_refused(serve_repo: Callable[..., Served], tmp_path: Path) -> None:
    """A changed `after` value or an added change makes the checksum fail; nothing is applied."""
    served = serve_repo("intouch")
    data = save_plan(served, tmp_path / "plan.json")
    before = snapshot(served)
    edited = json.loads(json.dumps(data))
    contact = next(c for c in edited["changes"] if c["type"] == "contacts")
    contact["after"]["first_name"] = "Mallory"
    added = json.loads(json.dumps(data))
    added["changes"].append(
        {**contact, "key": "+4790000000", "after": {**contact["after"], "mobile": "+4790000000"}}
    )
    for name, tampered in (("edited.json", edited), ("added.json", added)):
        (tmp_path / name).write_text(json.dumps(tampered), encoding="utf-8")
        refused = served.cli("apply", str(tmp_path / name))
        assert refused.exit_code == 1
        assert "modified after it was made (checksum mismatch)" in refused.output, refused.output
    assert snapshot(served) == before


def test_edited_plan_with_recomputed_checksum_is_refused(
    serve_repo: Callable[..., Served], tmp_path: Path
) -> None:
    """Even with a fresh checksum, a plan that differs from what config and live state call for is refused."""
    served = serve_repo("intouch")
    data = save_plan(served, tmp_path / "plan.json")
    before = snapshot(served)
    contact = next(c for c in data["changes"] if c["type"] == "contacts")
    contact["after"]["first_name"] = "Mallory"
    data["checksum"] = checksum(data)
    (tmp_path / "forged.json").write_text(json.dumps(data), encoding="utf-8")
    refused = served.cli("apply", str(tmp_path / "forged.json"))
    assert refused.exit_code == 1
    assert "no longer matches what the config and the live state call for" in refused.output, refused.output
    assert snapshot(served) == before


def test_config_edit_after_plan_is_refused(serve_repo: Callable[..., Served], tmp_path: Path) -> None:
    """Editing the config after `plan --out` makes `apply PLAN` refuse; nothing is applied."""
    served = serve_repo("intouch")
    save_plan(served, tmp_path / "plan.json")
    resources = served.root / "resources.yaml"
    resources.write_text(
        resources.read_text(encoding="utf-8").replace("first_name: Ole", "first_name: Olav"), encoding="utf-8"
    )
    before = snapshot(served)
    refused = served.cli("apply", str(tmp_path / "plan.json"))
    assert refused.exit_code == 1
    assert "the config changed since the plan was made" in refused.output, refused.output
    assert snapshot(served) == before


def test_plan_made_against_another_state_lineage_is_refused(
    serve_repo: Callable[..., Served], tmp_path: Path
) -> None:
    """A saved plan is refused against a state file of another lineage (not the one it was planned on)."""
    served = serve_repo("intouch")
    assert served.cli("apply", str(served.root), "--auto-approve").exit_code == 0
    resources = served.root / "resources.yaml"
    resources.write_text(
        resources.read_text(encoding="utf-8").replace("first_name: Ole", "first_name: Olav"), encoding="utf-8"
    )
    data = save_plan(served, tmp_path / "plan.json")
    state = json.loads(served.state_path.read_text(encoding="utf-8"))
    assert data["meta"]["state_lineage"] == state["lineage"]
    state["lineage"] = "00000000-0000-4000-8000-000000000000"  # another workspace's state file
    served.state_path.write_text(json.dumps(state), encoding="utf-8")
    before = snapshot(served)
    refused = served.cli("apply", str(tmp_path / "plan.json"))
    assert refused.exit_code == 1
    assert "made against another state file" in refused.output, refused.output
    assert snapshot(served) == before


def test_plan_is_refused_once_another_run_wrote_its_accounts_state(
    serve_repo: Callable[..., Served], tmp_path: Path
) -> None:
    """A saved plan is refused when the state of its account was written since (its serial moved)."""
    served = serve_repo("intime")
    assert served.cli("apply", str(served.root), "--auto-approve").exit_code == 0
    resources = served.root / "resources.yaml"
    resources.write_text(
        resources.read_text(encoding="utf-8").replace("first_name: Anna\n", "first_name: Annie\n", 1),
        encoding="utf-8",
    )
    data = save_plan(served, tmp_path / "plan.json")
    serial = data["meta"]["state_serials"]["clinic"]
    # Another run writes the account's state only (the live accounts stay as they were).
    moved = served.cli(
        "state", "mv", "clinic/reminders/anna-check-up", "clinic/reminders/anna", "--dir", str(served.root)
    )
    assert moved.exit_code == 0, moved.output
    before = snapshot(served)
    refused = served.cli("apply", str(tmp_path / "plan.json"))
    assert refused.exit_code == 1
    assert f"another run wrote clinic (serial {serial}, now {serial + 2})" in refused.output, refused.output
    assert snapshot(served) == before
