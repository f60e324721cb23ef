"""Tests of the drift history file (drifted since, trend, hostile lines) and of when to notify."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from reconciler.drift.history import append_run, last_alerted, read_history, run_of, with_history
from reconciler.drift.model import Cell, DriftReport, FailOn, Status
from reconciler.drift.notify import compare, payload, shown
from reconciler.errors import ReconcilerError

ZERO = {"changed": 0, "missing": 0, "extra": 0, "unmanaged": 0}


def report(at: str, contacts: Status, changed: int = 0, groups: Status = Status.IN_SYNC) -> DriftReport:
    cells = (
        Cell("oslo", "groups", "intouch", groups, dict(ZERO)),
        Cell("oslo", "contacts", "intouch", contacts, dict(ZERO, changed=changed)),
    )
    return DriftReport(checked_at=at, revision="abc", cells=cells)


def test_since_is_the_first_run_of_the_current_drift(tmp_path: Path):
    """Drift at runs 2-4 after an in-sync run 1: since is run 2's time; a failed run 3 does not break it."""
    path = tmp_path / "drift.jsonl"
    for at, status, n in (
        ("2026-11-30T06:00:00Z", Status.IN_SYNC, 0),
        ("2026-11-30T07:00:00Z", Status.DRIFTED, 1),
        ("2026-11-30T08:00:00Z", Status.FAILED, 0),
    ):
        append_run(path, run_of(report(at, status, n), None))
    runs, warnings = read_history(path)
    assert warnings == [] and len(runs) == 3
    now = report("2026-11-30T09:00:00Z", Status.DRIFTED, 3)
    cells = {c.type: c for c in with_history(now, [*runs, run_of(now, None)]).cells}
    assert cells["contacts"].since == "2026-11-30T07:00:00Z"
    assert cells["contacts"].trend == (0, 1, None, 3)
    assert cells["groups"].since == "" and cells["groups"].trend == (0, 0, 0, 0)


def test_resolved_drift_starts_a_new_since():
    """Drift, then in sync, then drift again: since is the time the drift came back."""
    history = [
        run_of(report("2026-11-30T06:00:00Z", Status.DRIFTED, 1), None),
        run_of(report("2026-11-30T07:00:00Z", Status.IN_SYNC), None),
    ]
    now = report("2026-11-30T08:00:00Z", Status.DRIFTED, 2)
    cell = with_history(now, [*history, run_of(now, None)]).cell("oslo", "contacts")
    assert cell is not None and cell.since == "2026-11-30T08:00:00Z"


def test_unreadable_lines_are_skipped_with_file_and_line(tmp_path: Path):
    """Garbage, wrong shapes and a torn last line are warnings naming file:line; good lines are kept."""
    path = tmp_path / "drift.jsonl"
    good = json.dumps(run_of(report("2026-11-30T06:00:00Z", Status.IN_SYNC), None).to_json())
    path.write_bytes(
        b"\n".join(
            [
                good.encode(),
                b"not json",
                b'{"time": 5, "cells": {}}',
                b'{"time": "x", "cells": {"a/b": {"status": "weird"}}}',
                b'["a list"]',
                b"\xff\xfe",
                good.encode()[:20],
            ]
        )
    )
    runs, warnings = read_history(path)
    assert len(runs) == 1
    assert [w.split(":")[1] for w in warnings] == ["2", "3", "4", "5", "6", "7"]
    assert (
        warnings[0]
        == f"{path}:2: not a drift history record; the line is ignored (delete it to silence this warning)"
    )
    append_run(path, run_of(report("2026-11-30T07:00:00Z", Status.IN_SYNC), None))
    runs, _ = read_history(path)
    assert [r.time for r in runs] == ["2026-11-30T06:00:00Z", "2026-11-30T07:00:00Z"]


def test_history_holds_counts_and_names_only(tmp_path: Path):
    """A history line has account/type names and counts: no item keys, no values."""
    line = run_of(report("2026-11-30T06:00:00Z", Status.DRIFTED, 2), frozenset({"oslo/contacts"})).to_json()
    assert line == {
        "format_version": 1,
        "time": "2026-11-30T06:00:00Z",
        "revision": "abc",
        "cells": {
            "oslo/groups": {"status": "in_sync", **ZERO},
            "oslo/contacts": {"status": "drifted", **dict(ZERO, changed=2)},
        },
        "alerted": ["oslo/contacts"],
    }


def test_notify_only_when_the_failing_set_changes():
    """New drift is an event, the same drift again is not, and its end is a 'resolved' event."""
    drifted = report("t1", Status.DRIFTED, 1)
    first = compare(drifted, None)
    assert (first.event, first.new, first.resolved) == ("drift", ("oslo/contacts",), ())
    assert compare(drifted, first.current).event == ""
    back = compare(report("t2", Status.IN_SYNC), first.current)
    assert (back.event, back.new, back.resolved) == ("resolved", (), ("oslo/contacts",))
    assert compare(report("t3", Status.IN_SYNC), None).event == ""


def test_a_failed_read_neither_raises_nor_clears_an_alert():
    """A type whose read failed keeps the state it was last notified in."""
    alerted = frozenset({"oslo/contacts"})
    assert compare(report("t", Status.FAILED), alerted).event == ""
    assert compare(report("t", Status.FAILED), None).event == ""
    assert compare(report("t", Status.IN_SYNC, groups=Status.FAILED), frozenset({"oslo/groups"})).event == ""


def test_fail_on_decides_what_is_alerted():
    """Unmanaged-only drift is not alerted by default, and is with --fail-on unmanaged."""
    cells = (Cell("oslo", "contacts", "intouch", Status.DRIFTED, dict(ZERO, unmanaged=1)),)
    quiet = DriftReport("t", "", cells)
    assert compare(quiet, None).event == ""
    loud = DriftReport("t", "", cells, fail_on=frozenset({FailOn.UNMANAGED}))
    assert compare(loud, None).event == "drift"


def test_last_alerted_skips_runs_that_did_not_notify():
    """The alerted set comes from the newest run that has one."""
    runs = [
        run_of(report("t1", Status.DRIFTED, 1), frozenset({"oslo/contacts"})),
        run_of(report("t2", Status.DRIFTED, 1), None),
    ]
    assert last_alerted(runs) == frozenset({"oslo/contacts"})
    assert last_alerted([]) is None


def test_payload_is_chat_ready_and_holds_no_item_data():
    """The payload has a 'text' line for chat tools and structured fields; no keys or values."""
    now = report("2026-11-30T07:00:00Z", Status.DRIFTED, 2)
    body = payload(now, compare(now, None))
    assert body["text"] == (
        "reconciler drift at revision abc: new drift in oslo/contacts (2 changed); "
        "1 account/type drifted (checked 2026-11-30T07:00:00Z)."
    )
    assert body["event"] == "drift" and body["version"] == 1 and body["drifted"] == ["oslo/contacts"]
    assert body["new"] == [
        {"account": "oslo", "type": "contacts", "status": "drifted", "counts": dict(ZERO, changed=2)}
    ]


def test_webhook_urls_are_shown_without_their_path():
    """Webhook paths hold tokens: messages show scheme, host and port only."""
    assert shown("https://hooks.slack.com/services/T0/B0/XYZ") == "https://hooks.slack.com/..."
    assert shown("http://127.0.0.1:8080/hook?token=abc") == "http://127.0.0.1:8080/..."


def test_history_that_is_not_a_regular_file_or_cannot_be_written_is_an_error(tmp_path: Path):
    """A directory (or a device) as history is refused; a path that can't be created raises one line."""
    with pytest.raises(ReconcilerError, match="must be a regular file"):
        read_history(tmp_path)
    with pytest.raises(ReconcilerError, match="must be a regular file"):
        read_history(Path("/dev/zero"))
    blocker = tmp_path / "file"
    blocker.write_text("x")
    with pytest.raises(ReconcilerError, match=r"file/drift.jsonl: cannot write the drift history"):
        append_run(blocker / "drift.jsonl", run_of(report("t", Status.IN_SYNC), None))
