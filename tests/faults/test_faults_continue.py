"""`apply --continue-on-error`: independent changes apply, dependents are skipped, exit 1, rerun converges."""

from __future__ import annotations

import json
from collections.abc import Callable

from reconciler.sandbox.server import Faults
from tests.faults.conftest import Served
from tests.faults.schedules import CHECKS

# The first three group creates fail (500, nothing committed): the create of "Customers" (first in
# plan order) is tried three times after empty read-backs and fails; "Staff" is created.
FAULT = "error:path=/2/groups:method=POST:times=3"


def test_continue_on_error_applies_what_does_not_depend_on_the_failure(
    serve_repo: Callable[..., Served],
) -> None:
    """A failed group create skips only its memberships; the rest applies; the table lists all three."""
    served = serve_repo("intouch", faults=FAULT)
    result = served.cli("apply", str(served.root), "--auto-approve", "--continue-on-error")
    assert result.exit_code == 1
    output = result.output
    assert "Failed: create oslo/groups/Customers: intouch: create group 'Customers': HTTP 500" in output, (
        output
    )
    applied = [line for line in output.splitlines() if line.startswith("Applied:")]
    assert sorted(applied) == [
        "Applied: create oslo/contacts/+4741234567",
        "Applied: create oslo/contacts/+4790550817",
        "Applied: create oslo/contacts/+4790550818",
        "Applied: create oslo/groups/Staff",
        "Applied: create oslo/memberships/Staff|+4790550817",
        "Applied: create oslo/memberships/Staff|+4790550818",
    ]
    skipped = [line for line in output.splitlines() if line.startswith("Skipped:")]
    assert sorted(skipped) == [
        f"Skipped: create oslo/memberships/Customers|{number}: depends on oslo/groups/Customers, which failed"
        for number in ("+4741234567", "+4790550817")
    ]
    assert "Error: Apply complete: 6 applied, 1 failed, 2 skipped." in output
    emulator = served.emulator
    assert [g["Name"] for g in emulator.groups()] == ["Staff"]
    assert len(emulator.contacts()) == 3
    [staff] = emulator.groups()
    assert len(emulator.members(staff["GroupId"])) == 2
    left = json.loads(served.cli("plan", str(served.root), "--format", "json").stdout)["changes"]
    assert sorted((c["action"], c["key"]) for c in left) == [
        ("create", "Customers"),
        ("create", "Customers|+4741234567"),
        ("create", "Customers|+4790550817"),
    ]
    emulator.faults = Faults.parse("")
    rerun = served.cli("apply", str(served.root), "--auto-approve")
    assert rerun.exit_code == 0, rerun.output
    assert served.cli("plan", str(served.root)).exit_code == 0
    assert CHECKS["intouch"](emulator, set()) == []


def test_without_continue_on_error_the_first_failure_stops_the_run(serve_repo: Callable[..., Served]) -> None:
    """By default nothing after the failed change is attempted; every later change is reported skipped."""
    served = serve_repo("intouch", faults=FAULT)
    result = served.cli("apply", str(served.root), "--auto-approve")
    assert result.exit_code == 1
    assert "Error: Apply complete: 0 applied, 1 failed, 8 skipped." in result.output, result.output
    assert served.emulator.groups() == [] and served.emulator.contacts() == []
    rerun = served.cli("apply", str(served.root), "--auto-approve")
    assert rerun.exit_code == 0, rerun.output
    assert CHECKS["intouch"](served.emulator, set()) == []
