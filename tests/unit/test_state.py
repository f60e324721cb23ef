"""State file tests: journal replay, atomic compaction, torn writes, serials and per-account locks."""

from __future__ import annotations

import json
import multiprocessing
from pathlib import Path

import pytest

from reconciler.errors import StateError
from reconciler.state import FileBackend, State
from reconciler.state.file import journal_path
from reconciler.state.locks import LockStatus, this_host, unlock_verdict


def test_journal_replays_without_save(tmp_path: Path):
    """Changes journaled by a run that never saved are there on the next load."""
    path = tmp_path / "state.json"
    state = State.load(path)
    state.record("a", "reminders", "anna", "101", {"name": "anna"})
    state.record("a", "reminders", "bo", "102", {"name": "bo"})
    state.forget("a", "reminders", "bo")
    state.close()  # killed before save()
    again = State.load(path)
    assert again.account("a") == {"reminders": {"anna": {"id": "101", "attrs": {"name": "anna"}}}}


def test_save_compacts_and_keeps_lineage(tmp_path: Path):
    """save() writes the snapshot and removes the journal; lineage is stable across loads."""
    path = tmp_path / "state.json"
    state = State.load(path)
    state.record("a", "campaigns", "sale", "9", {"text": "Hi"})
    state.save()
    assert path.exists() and not journal_path(path).exists()
    again = State.load(path)
    assert again.lineage == state.lineage
    assert again.account("a")["campaigns"]["sale"]["id"] == "9"


def test_torn_last_journal_line_is_ignored(tmp_path: Path):
    """A journal whose last line was cut by a crash loads everything before it."""
    path = tmp_path / "state.json"
    state = State.load(path)
    state.record("a", "contacts", "+1", "5", {})
    state.close()
    with open(journal_path(path), "a", encoding="utf-8") as handle:
        handle.write('{"op": "record", "account": "a", "ty')
    assert list(State.load(path).account("a")["contacts"]) == ["+1"]


def test_unreadable_state_is_a_clear_error(tmp_path: Path):
    """A corrupt snapshot is a StateError naming the file, not a traceback."""
    path = tmp_path / "state.json"
    path.write_text("{not json", encoding="utf-8")
    with pytest.raises(StateError, match="state.json: the state file is unreadable"):
        State.load(path)


def test_intents_are_resolved(tmp_path: Path):
    """An intent stays until resolved, across loads."""
    path = tmp_path / "state.json"
    state = State.load(path)
    state.intend("a", "campaigns", "sale", "create")
    state.close()
    loaded = State.load(path)
    assert [i["key"] for i in loaded.intents] == ["sale"]
    loaded.resolve("a", "campaigns", "sale")
    loaded.save()
    assert State.load(path).intents == []


def _hold(path: str, account: str, ready, release) -> None:
    with FileBackend(Path(path)).lock([account], command="reconciler apply"):
        ready.set()
        release.wait(20)


def _holding(path: Path, account: str):
    ctx = multiprocessing.get_context("spawn")
    ready, release = ctx.Event(), ctx.Event()
    holder = ctx.Process(target=_hold, args=(str(path), account, ready, release))
    holder.start()
    assert ready.wait(30)
    return holder, release


def test_second_writer_of_an_account_fails_naming_the_holder(tmp_path: Path):
    """While one process holds an account, another times out naming its pid, without advising unlock."""
    path = tmp_path / "state.json"
    holder, release = _holding(path, "se-main")
    try:
        with pytest.raises(StateError) as caught:
            with FileBackend(path).lock(["se-main"], "apply", timeout=0.2):
                pass
        message = str(caught.value)
        assert f"account se-main is locked by another run (host={this_host()}, pid={holder.pid}" in message
        assert "command=reconciler apply" in message and "--lock-timeout" in message
        assert "unlock" not in message  # the holder is alive: breaking its lock is never the advice
    finally:
        release.set()
        holder.join(20)
    with FileBackend(path).lock(["se-main"], "apply", timeout=1):
        pass


def test_other_accounts_lock_side_by_side(tmp_path: Path):
    """A run holding one account does not block a run for another account."""
    path = tmp_path / "state.json"
    holder, release = _holding(path, "se-main")
    try:
        with FileBackend(path).lock(["oslo", "uk"], "apply", timeout=0):
            statuses = {s.account: s.held for s in FileBackend(path).lock_status()}
        assert statuses["se-main"] is True
    finally:
        release.set()
        holder.join(20)


def test_unlock_refuses_a_live_holder_on_this_host(tmp_path: Path):
    """`state unlock` policy: a live holder on this host is never broken, not even with force."""
    path = tmp_path / "state.json"
    holder, release = _holding(path, "se-main")
    try:
        [status] = FileBackend(path).lock_status(["se-main"])
        assert status.held and status.holder and status.holder["pid"] == holder.pid
        for force in (False, True):
            verdict = unlock_verdict(status, force)
            assert verdict.action == "refuse" and "live run on this host" in verdict.message
    finally:
        release.set()
        holder.join(20)
    [after] = FileBackend(path).lock_status(["se-main"])
    assert not after.held and unlock_verdict(after, False).action == "clear"


def test_unlock_breaks_another_hosts_lock_only_with_force():
    """A holder on another host is refused without force, broken with force and a warning."""
    status = LockStatus("se-main", True, {"host": "ci-runner-7", "pid": 99, "command": "apply"})
    refused = unlock_verdict(status, False)
    assert refused.action == "refuse" and "--force" in refused.message and "ci-runner-7" in refused.message
    forced = unlock_verdict(status, True)
    assert forced.action == "break" and "ci-runner-7" in forced.warning


def test_unlock_breaks_a_dead_holder_on_this_host():
    """A lock still held for a process of this host that no longer exists is broken without force."""
    status = LockStatus("se-main", True, {"host": this_host(), "pid": 2**22 + 12345, "command": "apply"})
    assert unlock_verdict(status, False).action == "break"


def _write_account(path: str, account: str, count: int) -> None:
    backend = FileBackend(Path(path))
    with backend.lock([account], "apply", timeout=30):
        state = backend.load()
        for number in range(count):
            state.record(account, "reminders", f"r{number}", str(number), {"n": number})
        state.save()


def test_runs_for_two_accounts_write_one_file_without_losing_lines(tmp_path: Path):
    """Two processes journaling different accounts into one state file: both keep every record."""
    path = tmp_path / "state.json"
    ctx = multiprocessing.get_context("spawn")
    runs = [ctx.Process(target=_write_account, args=(str(path), name, 40)) for name in ("a", "b")]
    for run in runs:
        run.start()
    for run in runs:
        run.join(60)
    assert [run.exitcode for run in runs] == [0, 0]
    state = State.load(path)
    assert {name: len(state.account(name)["reminders"]) for name in ("a", "b")} == {"a": 40, "b": 40}
    assert state.serials(["a", "b"]) == {"a": 40, "b": 40}


def test_serials_count_writes_per_account_and_record_settles_the_intent(tmp_path: Path):
    """Every write bumps its account's serial only; recording an item closes its open intent."""
    path = tmp_path / "state.json"
    state = State.load(path)
    state.intend("a", "campaigns", "sale", "create")
    state.record("a", "campaigns", "sale", "9", {"text": "Hi"}, protected=True)
    state.resolve("a", "campaigns", "sale")  # nothing open: not written
    state.record("b", "reminders", "r", "1", {})
    state.save()
    again = State.load(path)
    assert again.serials(["a", "b", "c"]) == {"a": 2, "b": 1, "c": 0}
    assert again.intents == []
    assert again.account("a")["campaigns"]["sale"] == {"id": "9", "attrs": {"text": "Hi"}, "protected": True}


def test_a_torn_line_is_cut_before_the_next_append(tmp_path: Path):
    """A killed writer's torn last line does not corrupt the lines other runs append after it."""
    path = tmp_path / "state.json"
    state = State.load(path)
    state.record("a", "contacts", "+1", "5", {})
    with open(journal_path(path), "a", encoding="utf-8") as handle:
        handle.write('{"op": "record", "account": "a", "ty')
    State.load(path).record("b", "contacts", "+2", "6", {})
    loaded = State.load(path)
    assert list(loaded.account("a")["contacts"]) == ["+1"] and list(loaded.account("b")["contacts"]) == ["+2"]


def test_the_lineage_holds_from_the_first_write(tmp_path: Path):
    """A state without a snapshot gets one at its first write, so later loads keep its lineage."""
    path = tmp_path / "state.json"
    state = State.load(path)
    state.intend("a", "contacts", "+1", "create")
    state.close()  # killed before save()
    assert State.load(path).lineage == state.lineage == State.load(path).lineage


def test_a_state_of_the_wrong_shape_is_one_clear_error(tmp_path: Path):
    """Valid JSON of the wrong shape is a StateError naming the file, not a traceback."""
    path = tmp_path / "state.json"
    path.write_text(json.dumps({"format_version": 1, "accounts": {"a": ["x"]}}), encoding="utf-8")
    with pytest.raises(StateError, match="state.json: 'accounts' must map"):
        State.load(path)


def test_copying_accounts_into_a_file_keeps_the_other_accounts(tmp_path: Path):
    """`state pull` into a file replaces only the copied accounts; others' journaled writes stay."""
    path = tmp_path / "state.json"
    State.load(path).record("other", "reminders", "keep", "1", {})
    source = State(tmp_path / "source.json")
    source.record("a", "reminders", "r", "2", {})
    FileBackend(path).write_document(source.data, ["a"])
    after = State.load(path)
    assert after.account("other")["reminders"]["keep"]["id"] == "1"
    assert after.account("a")["reminders"]["r"]["id"] == "2"
    assert after.serials(["a", "other"]) == {"a": 1, "other": 1} and after.lineage == source.lineage


def test_transfer_refuses_newer_or_diverged_accounts():
    """copy_problems names a newer target serial, equal serials with other content, another lineage."""
    from reconciler.state.document import empty_document
    from reconciler.state.transfer import copy_problems, merged

    source, target = empty_document(), empty_document()
    target["lineage"] = source["lineage"]
    source["serials"], target["serials"] = {"a": 3, "b": 2, "c": 5}, {"a": 4, "b": 2, "c": 1}
    source["accounts"] = {"b": {"reminders": {"x": {"id": "1", "attrs": {}}}}}
    problems = copy_problems(source, target, "db")
    assert problems == [
        "a: db is newer (serial 4, copying 3)",
        "b: db has other content at the same serial 2",
    ]
    out, changed = merged(source, target)  # forced: only what differs is copied; serials move forward
    assert changed == ["b", "c"] and out["serials"] == {"a": 4, "b": 3, "c": 5}
    target["lineage"] = "another"
    assert "another lineage" in copy_problems(source, target, "db")[0]


@pytest.mark.parametrize(
    ("record", "wrong"),
    [({"id": ["5"], "attrs": {}}, "'id' must be"), ({"id": "5", "attrs": [1]}, "'attrs' must be")],
)
def test_a_record_of_the_wrong_shape_is_one_clear_error(tmp_path: Path, record, wrong):
    """A record whose id or attrs has the wrong type is a StateError naming the item, not a traceback."""
    path = tmp_path / "state.json"
    data = {"format_version": 1, "lineage": "x", "accounts": {"a": {"reminders": {"r": record}}}}
    path.write_text(json.dumps(data), encoding="utf-8")
    with pytest.raises(StateError, match=f"state.json: a/reminders/r: {wrong}"):
        State.load(path)
