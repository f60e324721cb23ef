"""Safety rails end to end against the Intouch emulator: per-account, per-type limits and --force."""

from __future__ import annotations

from pathlib import Path

from tests.e2e.conftest import Emu, make_repo


def _contacts(n: int) -> str:
    rows = ["account: oslo", "contacts:"]
    rows += [f'  - {{mobile: "+4790550{i:03d}", first_name: P{i}}}' for i in range(n)]
    return "\n".join(rows) + "\n"


def test_per_type_max_deletes_refuses_until_forced(tmp_path: Path, intouch: Emu):
    """A contacts-only max_deletes of one account refuses pruning 3 contacts until --force."""
    repo = make_repo(
        tmp_path,
        {"oslo": ("intouch", intouch)},
        region="NO",
        prune={"oslo": ["contacts"]},
    )
    config = (tmp_path / "reconciler.yaml").read_text()
    repo.write(
        "reconciler.yaml",
        config.replace(
            "    prune: [contacts]", "    prune: [contacts]\n    safety: {contacts: {max_deletes: 2}}"
        ),
    )
    repo.write("people.yaml", _contacts(12))
    assert repo.cli("apply", str(tmp_path), "--auto-approve").exit_code == 0
    repo.write("people.yaml", _contacts(9))
    plan = repo.cli("plan", str(tmp_path))
    assert plan.exit_code == 2
    assert plan.stderr.startswith(
        "Warning: apply will refuse this plan: oslo/contacts: the plan would delete 3 items (more than "
    )
    refused = repo.cli("apply", str(tmp_path), "--auto-approve")
    assert refused.exit_code == 1
    assert refused.stderr.strip().splitlines()[-1] == (
        "Error: oslo/contacts: the plan would delete 3 items (more than "
        "accounts.oslo.safety.contacts.max_deletes = 2); review it, then rerun with --force or raise "
        "accounts.oslo.safety.contacts.max_deletes"
    )
    assert len(intouch.emulator.contacts()) == 12
    skipped = repo.cli("apply", str(tmp_path), "--auto-approve", "--skip-unsupported")
    assert skipped.exit_code == 1 and len(intouch.emulator.contacts()) == 12
    forced = repo.cli("apply", str(tmp_path), "--auto-approve", "--force")
    assert forced.exit_code == 0, forced.output
    assert len(intouch.emulator.contacts()) == 9
    assert repo.cli("plan", str(tmp_path)).exit_code == 0
