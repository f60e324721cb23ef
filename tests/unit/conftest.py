"""Fixtures for unit tests, and the ``--update-golden`` option that rewrites tests/golden/."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

GOLDEN_DIR = Path(__file__).resolve().parent.parent / "golden"


@pytest.fixture
def golden(request: pytest.FixtureRequest) -> Callable[[str, str], None]:
    """Compare text with tests/golden/<name>, or rewrite that file under --update-golden."""
    update = bool(request.config.getoption("--update-golden", default=False))

    def check(name: str, text: str) -> None:
        path = GOLDEN_DIR / name
        if update:
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(text, encoding="utf-8", newline="\n")
            return
        how = "run: pytest tests/unit --update-golden, then review the diff"
        assert path.exists(), f"{path}: golden file missing ({how})"
        assert text == path.read_text(encoding="utf-8"), f"{path}: output differs ({how})"

    return check


@pytest.fixture
def sample_plan():
    """A representative plan: every action, nested attributes, a reason, warnings and an error."""
    from reconciler.changes import Action, Change
    from reconciler.errors import Problem
    from reconciler.plan import Fingerprints, Plan, Warning_

    changes = (
        Change("se-main", "groups", "Staff", Action.CREATE, after={"name": "Staff"}),
        Change(
            "se-main",
            "contacts",
            "+46701234567",
            Action.CREATE,
            after={
                "mobile": "+46701234567",
                "first_name": "John",
                "last_name": "Svensson",
                "email": "john.svensson@company.se",
                "groups": ["Customers", "Staff"],
            },
        ),
        Change(
            "uk",
            "campaigns",
            "vip-preview",
            Action.UNSUPPORTED,
            before={"brand": "Acme"},
            after={"brand": "Acme UK"},
            fields=("brand",),
            ident="c-991",
            reason="smsconnector: a campaign's brand can't change after creation (remove it or --force)",
        ),
        Change(
            "se-main",
            "reminders",
            "anna-dentist-dec",
            Action.CREATE,
            after={
                "name": "anna-dentist-dec",
                "appointment": "2026-12-01T08:30:00",
                "organizer": {"title": "Dr", "first_name": "Hans", "last_name": "Evertsson"},
                "attendant": {"first_name": "Anna", "last_name": "Lind", "mobile": "+46709876543"},
                "active": True,
            },
        ),
        Change(
            "se-main",
            "reminders",
            "bob-checkup",
            Action.UPDATE,
            before={"appointment": "2026-12-02T10:00:00", "attendant.mobile": "+46709876500"},
            after={"appointment": "2026-12-02T11:15:00", "attendant.mobile": "+46709876501"},
            fields=("appointment", "attendant.mobile"),
            ident="r-42",
        ),
        Change("se-main", "groups", "Old", Action.DELETE, before={"name": "Old"}, ident="17"),
        Change(
            "se-main",
            "campaigns",
            "winter-sale",
            Action.REPLACE,
            before={"name": "winter-sale", "text": "Winter sale: 10% off.", "sender": "Byggvaruh"},
            after={"name": "winter-sale", "text": "Winter sale: 20% off.\nReply STOP", "sender": "Byggvaruh"},
            ident="5001",
            reason="intime: a scheduled campaign can't be edited; it is stopped and created again",
        ),
    )
    warnings = (
        Warning_("uk", "phone_lists", "VIP customers", "unmanaged: live item not declared and not pruned"),
        Warning_("se-main", "contacts", "", "InTime contacts can't be listed; taken from state"),
    )
    errors = (Problem('sender "Byggvaruhuset AB" is longer than 11 characters', "campaigns.yaml", 12, 5),)
    return Plan(
        changes=changes,
        warnings=warnings,
        errors=errors,
        created_at="2026-11-22T10:00:00Z",
        fingerprints=Fingerprints(
            config="0f" * 32,
            live={"uk/phone_lists": "ab" * 32},
            state_lineage="3f1e2d4c-0000-4000-8000-000000000001",
            accounts=("se-main", "uk"),
        ),
    )
