"""State file tests: journal replay, atomic compaction, torn writes and the lock."""

from __future__ import annotations

import json
import multiprocessing
from pathlib import Path

import pytest

from reconciler.errors import StateError
from reconciler.state import State, StateLock, unlock


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
    assert path.exists() and not state.journal_path.exists()
    again = State.load(path)
    assert again.lineage == state.lineage
    assert again.account("a")["campaigns"]["sale"]["id"] == "9"


def test_torn_last_journal_line_is_ignored(tmp_path: Path):
    """A journal whose last line was cut by a crash loads everything before it."""
    path = tmp_path / "state.json"
    state = State.load(path)
    state.record("a", "contacts", "+1", "5", {})
    state.close()
    with open(state.journal_path, "a", encoding="utf-8") as handle:
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


def _hold(path: str, ready, release) -> None:
    with StateLock(Path(path), command="reconciler apply").held():
        ready.set()
        release.wait(10)


def test_second_writer_fails_naming_the_holder(tmp_path: Path):
    """While one process holds the lock, another times out with the holder's pid and command."""
    path = tmp_path / "state.json"
    ctx = multiprocessing.get_context("spawn")
    ready, release = ctx.Event(), ctx.Event()
    holder = ctx.Process(target=_hold, args=(str(path), ready, release))
    holder.start()
    try:
        assert ready.wait(20)
        with pytest.raises(
            StateError, match=rf"locked by another run \(host=.*pid={holder.pid}, command=reconciler apply"
        ):
            with StateLock(path, timeout=0.2).held():
                pass
    finally:
        release.set()
        holder.join(10)
    with StateLock(path, timeout=1).held():
        pass


def test_unlock_removes_leftovers(tmp_path: Path):
    """`state unlock` clears the sidecar and lock file left by a killed run and says who held it."""
    path = tmp_path / "state.json"
    lock = StateLock(path)
    lock.info_path.write_text(json.dumps({"pid": 4242, "command": "apply"}), encoding="utf-8")
    lock.lock_path.write_text("", encoding="utf-8")
    assert unlock(path) == {"pid": 4242, "command": "apply"}
    assert not lock.info_path.exists() and not lock.lock_path.exists()
