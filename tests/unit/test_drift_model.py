"""Tests of the drift model: built from the planner's output, statuses, kinds, exit codes, JSON."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import jsonschema
import pytest

from reconciler.drift.build import build_report
from reconciler.drift.model import DriftReport, FailOn, Kind, Status, cell_label, summary_sentence
from reconciler.model import Resource
from reconciler.planner import Target, diff
from reconciler.providers.base import Capability, cannot, yes

ROOT = Path(__file__).resolve().parents[2]
NOW = datetime(2026, 11, 30, 7, 0, tzinfo=UTC)
FULL = Capability(list=yes(), create=yes(), update=yes(), delete=yes(), fields=frozenset())
CAPS = {
    "groups": FULL,
    "contacts": FULL,
    "campaigns": Capability(
        list=cannot("the API cannot list campaigns"),
        create=yes(),
        update=cannot("campaigns cannot be edited"),
        delete=yes(),
        fields=frozenset(),
        tracked=True,
    ),
}


def res(type_: str, key: str, **attrs: Any) -> Resource:
    return Resource("oslo", type_, key, attrs, ident=f"id-{key}")


def report_of(
    desired: dict,
    live: dict,
    *,
    failures: dict | None = None,
    state: dict | None = None,
    prune: frozenset[str] = frozenset(),
    fail_on: frozenset[FailOn] | None = None,
) -> DriftReport:
    desired_map = {("oslo", t): {r.key: r for r in rs} for t, rs in desired.items()}
    live_map = {("oslo", t): {r.key: r for r in rs} for t, rs in live.items()}
    targets = [Target("oslo", "acme", CAPS, prune)]
    states = {"oslo": state or {}}
    plan = diff(desired_map, live_map, states, targets, NOW)
    return build_report(
        plan,
        targets,
        live=live_map,
        desired=desired_map,
        state=states,
        failures=failures or {},
        checked_at="2026-11-30T07:00:00Z",
        revision="0123456789ab",
        fail_on=fail_on,
    )


def statuses(report: DriftReport) -> dict[str, Status]:
    return {c.type: c.status for c in report.cells}


def test_in_sync_types_are_listed_with_their_counts():
    """Types with nothing different are in sync, with declared and live counts; exit code 0."""
    staff = res("groups", "Staff", name="Staff")
    report = report_of({"groups": [staff]}, {"groups": [staff], "contacts": []})
    assert statuses(report) == {
        "groups": Status.IN_SYNC,
        "contacts": Status.IN_SYNC,
        "campaigns": Status.NOT_AUDITABLE,
    }
    groups = report.cell("oslo", "groups")
    assert groups is not None and (groups.declared, groups.live) == (1, 1)
    assert report.items == () and report.exit_code == 0


def test_changed_item_names_the_live_and_the_declared_value():
    """An update is a changed item whose field holds the live value and the declared one."""
    declared = res("contacts", "+4790550001", first_name="Kari", last_name="Nordmann")
    live = res("contacts", "+4790550001", first_name="Karianne", last_name="Nordmann")
    report = report_of({"contacts": [declared]}, {"contacts": [live]})
    (item,) = report.items
    assert item.kind is Kind.CHANGED and item.fixable
    assert [(f.path, f.live, f.declared) for f in item.fields] == [("first_name", "Karianne", "Kari")]
    assert report.cell("oslo", "contacts").status is Status.DRIFTED  # type: ignore[union-attr]
    assert report.exit_code == 2


def test_missing_extra_and_unmanaged_items_are_told_apart():
    """Declared-not-live is missing; undeclared live is extra in a pruned type and unmanaged otherwise."""
    report = report_of(
        {"groups": [res("groups", "Staff", name="Staff")], "contacts": []},
        {
            "groups": [res("groups", "Old", name="Old")],
            "contacts": [res("contacts", "+4790550099", first_name="Per")],
        },
        prune=frozenset({"groups"}),
    )
    kinds = {(i.type, i.key): i.kind for i in report.items}
    assert kinds == {
        ("groups", "Staff"): Kind.MISSING,
        ("groups", "Old"): Kind.EXTRA,
        ("contacts", "+4790550099"): Kind.UNMANAGED,
    }
    unmanaged = next(i for i in report.items if i.kind is Kind.UNMANAGED)
    assert unmanaged.live == {"first_name": "Per"}
    assert cell_label(report.cell("oslo", "groups")) == "drifted: 1 missing live, 1 extra live"  # type: ignore[arg-type]


def test_unmanaged_items_fail_only_when_asked():
    """Unmanaged-only drift exits 0 by default and 2 with --fail-on unmanaged."""
    live = {"contacts": [res("contacts", "+4790550099", first_name="Per")]}
    assert report_of({}, live).exit_code == 0
    assert report_of({}, live, fail_on=frozenset({FailOn.UNMANAGED})).exit_code == 2
    assert report_of({}, live, fail_on=frozenset()).exit_code == 0


def test_failed_read_disregards_what_the_planner_said_about_that_type():
    """A failed type is failed with its reason (exit 1), not a list of bogus missing items."""
    report = report_of(
        {"groups": [res("groups", "Staff", name="Staff")]},
        {"contacts": []},
        failures={("oslo", "groups"): "acme: list groups: HTTP 500"},
    )
    groups = report.cell("oslo", "groups")
    assert groups is not None and groups.status is Status.FAILED
    assert groups.reason == "acme: list groups: HTTP 500" and groups.live is None
    assert report.items == () and report.exit_code == 1


def test_unlistable_type_is_not_auditable_and_summarises_the_state_file():
    """A type that cannot be listed says why and what the state knows; its pending changes are not drift."""
    state = {"campaigns": {"spring": {"id": "7", "attrs": {"name": "spring"}}}}
    report = report_of(
        {"campaigns": [res("campaigns", "spring", name="spring"), res("campaigns", "autumn", name="autumn")]},
        {"groups": [], "contacts": []},
        state=state,
    )
    cell = report.cell("oslo", "campaigns")
    assert cell is not None and cell.status is Status.NOT_AUDITABLE
    assert cell.reason == "the API cannot list campaigns"
    assert cell.known == (
        "1 item(s) recorded in the state file by the last apply; 1 declared change(s) not applied yet"
    )
    assert report.items == () and report.exit_code == 0
    assert report_of({}, {}, state=state, fail_on=frozenset({FailOn.UNAUDITABLE})).exit_code == 2


def test_summary_sentence_counts_every_status():
    """The summary line says how many account/types are in sync, drifted (by kind), not auditable."""
    report = report_of({}, {"contacts": [res("contacts", "+4790550099", first_name="Per")]})
    assert summary_sentence(report) == (
        "Drift: 1 of 3 account/types in sync, 1 drifted (1 unmanaged live), 1 not auditable."
    )


def test_json_is_versioned_and_valid_against_the_schema():
    """The JSON form carries format_version 1 and validates against schemas/drift.schema.json."""
    report = report_of(
        {"contacts": [res("contacts", "+4790550001", first_name="Kari")]},
        {"contacts": [res("contacts", "+4790550001", first_name="Karianne")], "groups": []},
        failures={("oslo", "groups"): "HTTP 500"},
    )
    data = json.loads(json.dumps(report.to_json()))
    assert data["format_version"] == 1 and data["kind"] == "drift" and data["exit_code"] == 1
    assert data["summary"]["items"] == {"changed": 1, "missing": 0, "extra": 0, "unmanaged": 0}
    for folder in ("schemas", "reconciler/schemas"):
        schema = json.loads((ROOT / folder / "drift.schema.json").read_text(encoding="utf-8"))
        jsonschema.Draft202012Validator(schema, format_checker=jsonschema.FormatChecker()).validate(data)


def test_schema_rejects_an_unknown_status():
    """The schema is strict: a cell with a made-up status does not validate."""
    schema = json.loads((ROOT / "schemas" / "drift.schema.json").read_text(encoding="utf-8"))
    data = report_of({}, {}).to_json()
    data["cells"][0]["status"] = "fine"
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.Draft202012Validator(schema).validate(data)
