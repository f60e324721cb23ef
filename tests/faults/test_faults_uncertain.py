"""Creates whose answer was lost: read back where possible, uncertain (never duplicated) where not.

Deterministic faults on one path each (the property test covers random ones). Runs the CLI in
process against a served emulator.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from reconciler.apply import apply_plan
from reconciler.engine import Run
from reconciler.sandbox.server import Faults
from reconciler.state import State
from tests.faults.conftest import Served
from tests.faults.schedules import CHECKS


def plan_changes(served: Served) -> list[dict[str, Any]]:
    result = served.cli("plan", str(served.root), "--format", "json")
    assert result.exit_code in (0, 2), result.output
    changes: list[dict[str, Any]] = json.loads(result.stdout)["changes"]
    return changes


def test_uncertain_campaign_then_state_rm_creates_it_once(serve_repo: Callable[..., Served]) -> None:
    """A campaign whose create was answered 500 is uncertain; `state rm` as advised, then it is sent once."""
    served = serve_repo("intime", faults="error:path=message/create:times=1")
    first = served.cli("apply", str(served.root), "--auto-approve")
    assert first.exit_code == 1 and "uncertain" in first.output, first.output
    [change] = [c for c in plan_changes(served) if c["action"] != "create"]
    assert (change["action"], change["key"]) == ("unsupported", "influensa")
    assert (
        change["reason"].startswith("uncertain")
        and "reconciler state rm clinic/campaigns/influensa" in change["reason"]
    )
    refused = served.cli("apply", str(served.root), "--auto-approve")
    assert refused.exit_code == 1 and "unsupported" in refused.output
    assert [m["body"] for m in served.emulator.messages()] == []  # the 500 committed nothing
    removed = served.cli("state", "rm", "clinic/campaigns/influensa", "--dir", str(served.root))
    assert removed.exit_code == 0, removed.output
    assert served.cli("apply", str(served.root), "--auto-approve").exit_code == 0
    assert plan_changes(served) == []
    assert CHECKS["intime"](served.emulator, set()) == []


def test_uncertain_campaign_that_exists_is_imported_not_duplicated(serve_repo: Callable[..., Served]) -> None:
    """A committed campaign whose answer was lost is adopted with `state import ID`; nothing is sent twice."""
    served = serve_repo("smsconnector", faults="commit-then-error:path=CreateCampaign")
    assert served.cli("apply", str(served.root), "--auto-approve").exit_code == 1
    served.emulator.faults = Faults.parse("")
    [campaign] = served.emulator.campaigns()
    assert not campaign["armed"]
    [change] = plan_changes(served)
    assert change["action"] == "unsupported" and change["reason"].startswith("uncertain")
    imported = served.cli(
        "state", "import", "acme/campaigns/spring-preview", str(campaign["id"]), "--dir", str(served.root)
    )
    assert imported.exit_code == 0, imported.output
    # Imported with the declared attributes: the tool now believes it is linked and launched,
    # as it would be had the create answered. The portal check the advice asks for is the user's.
    assert plan_changes(served) == []
    assert len(served.emulator.campaigns()) == 1


def test_lost_answer_of_a_listable_create_is_read_back(serve_repo: Callable[..., Served]) -> None:
    """Every Intouch create answered 500 after committing is found by read-back: one apply, no duplicate."""
    served = serve_repo("intouch", faults="commit-then-error:method=POST")
    result = served.cli("apply", str(served.root), "--auto-approve")
    assert result.exit_code == 0, result.output
    served.emulator.faults = Faults.parse("")
    assert served.emulator.count("POST") == 5  # 2 groups + 3 contacts, each sent once
    assert plan_changes(served) == []
    assert CHECKS["intouch"](served.emulator, set()) == []


def test_partial_phone_list_is_finished_by_the_next_apply(serve_repo: Callable[..., Served]) -> None:
    """A phone list created without its numbers (CreateList's answer lost) fails loudly, then converges."""
    served = serve_repo("smsconnector", faults="commit-then-error:path=CreateList:times=1")
    first = served.cli("apply", str(served.root), "--auto-approve")
    assert first.exit_code == 1
    assert "was created as id 1 but differs from the config in numbers" in first.output, first.output
    changes = {c["key"]: c for c in plan_changes(served)}
    assert (changes["Newsletter"]["action"], changes["Newsletter"]["fields"]) == ("update", ["numbers"])
    assert served.cli("apply", str(served.root), "--auto-approve").exit_code == 0
    assert plan_changes(served) == []
    assert CHECKS["smsconnector"](served.emulator, set()) == []


def test_campaign_whose_launch_failed_is_launched_by_the_next_apply(
    serve_repo: Callable[..., Served],
) -> None:
    """A campaign created and linked but never launched (launch kept failing) is launched by the rerun."""
    served = serve_repo("smsconnector", faults="error:path=LaunchCampaign:times=6")
    first = served.cli("apply", str(served.root), "--auto-approve")
    assert first.exit_code == 1 and "is not launched" in first.output, first.output
    [campaign] = served.emulator.campaigns()
    assert not campaign["armed"] and campaign["lists"]
    [change] = plan_changes(served)
    assert change["action"] == "update"
    assert served.cli("apply", str(served.root), "--auto-approve").exit_code == 0
    [campaign] = served.emulator.campaigns()
    assert campaign["armed"]
    assert plan_changes(served) == []


def test_partly_read_back_batch_reports_each_change_once(serve_repo: Callable[..., Served]) -> None:
    """A reminder batch with a lost answer: the complete one applied, the incomplete one failed, once each."""
    served = serve_repo("intime", faults="commit-then-error:path=reminder/add:times=1")
    result = served.cli("apply", str(served.root), "--auto-approve", "--continue-on-error")
    assert result.exit_code == 1
    lines = result.output.splitlines()
    assert "Applied: create clinic/reminders/anna-check-up" in lines
    [failed] = [line for line in lines if line.startswith("Failed:")]
    assert failed.startswith("Failed: create clinic/reminders/asa-cleaning: ")
    assert "asa-cleaning was created as id 102 but differs from the config in active" in failed
    assert "Error: Apply complete: 8 applied, 1 failed, 0 skipped." in result.output
    [change] = plan_changes(served)
    assert (change["action"], change["key"], change["fields"]) == ("update", "asa-cleaning", ["active"])
    assert served.cli("apply", str(served.root), "--auto-approve").exit_code == 0
    assert plan_changes(served) == []
    assert CHECKS["intime"](served.emulator, set()) == []


def test_failed_read_back_is_a_failure_of_that_change(serve_repo: Callable[..., Served]) -> None:
    """When reading back a lost create fails too, that change fails and the rest still applies."""
    served = serve_repo("intouch")
    state = State.load(served.state_path)
    run = Run(served.site.config, state)
    try:
        plan = run.plan()
        served.emulator.faults = Faults.parse(
            "commit-then-error:path=/2/contacts:method=POST:times=1,error:path=/2/contacts:method=GET"
        )
        result = apply_plan(plan, run.providers, state, continue_on_error=True)
    finally:
        run.close()
        state.save()
    [(change, error)] = result.failed
    assert change.address == "oslo/contacts/+4741234567"
    assert "reading contacts back to see whether it was created failed too" in error
    assert [c.address for c, _ in result.skipped] == ["oslo/memberships/Customers|+4741234567"]
    assert len(result.applied) == 7
    served.emulator.faults = Faults.parse("")
    assert served.cli("apply", str(served.root), "--auto-approve").exit_code == 0
    assert plan_changes(served) == []
    assert CHECKS["intouch"](served.emulator, set()) == []
