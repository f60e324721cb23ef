"""Two applies on one state file: the second waits for the lock or fails naming the holder.

Both are `python -m reconciler.cli apply` subprocesses against one InTime emulator (InTime keeps
contact, reminder and campaign ids in the state file, so a corrupt or torn state would show).
The probe holds the first apply's create-contacts request (processed, answer delayed), so it is
mid-apply and holds the lock while the second one starts. Afterwards the state file loads,
records exactly the ids the emulator has, and the next plan is empty.
"""

from __future__ import annotations

import signal
import subprocess
from collections.abc import Callable

from reconciler.state import State
from tests.faults.conftest import Lines, Served
from tests.faults.schedules import CHECKS

HELD_REQUEST = 6  # 3 reads, create groups, read them back, then create contacts: held meanwhile


def state_matches_emulator(served: Served) -> None:
    """The state file loads, has no open intents, and records the InTime ids that exist; plan is empty."""
    state = State.load(served.state_path)
    assert state.intents == []
    records = state.account("clinic")
    live = {
        "contacts": {str(c["id"]) for c in served.emulator.contacts()},
        "reminders": {str(r["id"]) for r in served.emulator.reminders()},
        "campaigns": {str(m["id"]) for m in served.emulator.messages() if m["status"] == "scheduled"},
    }
    for type_, ids in live.items():
        assert {str(record["id"]) for record in records.get(type_, {}).values()} == ids, type_
    assert CHECKS["intime"](served.emulator, set()) == []
    final = served.cli("plan", str(served.root))
    assert final.exit_code == 0, final.output


def start_held_apply(served: Served) -> subprocess.Popen[str]:
    """Start apply; return once its create-contacts request is held (the run holds the state lock)."""
    served.probe.arm(HELD_REQUEST, commit=True)
    first = served.spawn("apply", ".", "--auto-approve")
    while not served.probe.reached.wait(timeout=0.05):
        assert first.poll() is None, first.communicate()
    return first


def test_second_apply_fails_naming_the_holder(serve_repo: Callable[..., Served]) -> None:
    """Without --lock-timeout the second apply fails at once, naming the first one's pid and command."""
    served = serve_repo("intime")
    first = start_held_apply(served)
    try:
        before = served.emulator.count()
        second = served.run("apply", ".", "--auto-approve")
        assert served.emulator.count() == before  # refused before sending anything
    finally:
        served.probe.release()
        _, first_err = first.communicate(timeout=60)
    assert second.returncode == 1, second.stderr
    assert "locked by another run" in second.stderr
    assert f"pid={first.pid}" in second.stderr and "command=" in second.stderr and " apply" in second.stderr
    # The holder is alive: the message must not advise breaking its lock (issue 10, item 2).
    assert "state unlock" not in second.stderr and "--lock-timeout" in second.stderr
    assert first.returncode == 0, first_err
    state_matches_emulator(served)


def test_second_apply_waits_for_the_lock(serve_repo: Callable[..., Served]) -> None:
    """With --lock-timeout the second apply waits for the first, then finds nothing left to do."""
    served = serve_repo("intime")
    first = start_held_apply(served)
    second = served.spawn("-vv", "apply", ".", "--auto-approve", "--lock-timeout", "60")
    log, out = Lines(second.stderr), Lines(second.stdout)  # type: ignore[arg-type]
    try:
        waiting = log.wait_for(
            lambda lines: any("account clinic is locked by another run" in line for line in lines)
        )
        assert waiting, log.text()[-2000:]
        assert second.poll() is None
    finally:
        served.probe.release()
        _, first_err = first.communicate(timeout=60)
    assert second.wait(timeout=60) == 0, log.text()[-2000:]
    assert out.closed() and log.closed()
    assert first.returncode == 0, first_err
    assert "No changes" in out.text(), out.text()
    state_matches_emulator(served)


def test_two_applies_started_together_apply_once(serve_repo: Callable[..., Served]) -> None:
    """Two applies started at the same moment: one applies, the other waits and finds nothing to do."""
    served = serve_repo("intime")
    runs = [served.spawn("apply", ".", "--auto-approve", "--lock-timeout", "60") for _ in range(2)]
    outputs = [run.communicate(timeout=60) for run in runs]
    assert [run.returncode for run in runs] == [0, 0], outputs
    applied = [out for out, err in outputs if "Apply complete" in out + err]
    unchanged = [out for out, _ in outputs if "No changes" in out]
    assert (len(applied), len(unchanged)) == (1, 1), outputs
    state_matches_emulator(served)


def test_waiting_apply_takes_over_from_a_killed_one(serve_repo: Callable[..., Served]) -> None:
    """SIGKILL the lock holder mid-apply: the waiting apply gets the lock and never duplicates its work."""
    served = serve_repo("intime")
    first = start_held_apply(served)
    second = served.spawn("-vv", "apply", ".", "--auto-approve", "--lock-timeout", "60")
    log, out = Lines(second.stderr), Lines(second.stdout)  # type: ignore[arg-type]
    try:
        assert log.wait_for(lambda lines: any("is locked by another run" in line for line in lines)), (
            log.text()[-2000:]
        )
        first.send_signal(signal.SIGKILL)
        first.communicate(timeout=30)
    finally:
        served.probe.release()
    # The killed run had sent create contacts (processed, answer never read). InTime cannot list
    # contacts, so the run that took over shows them as uncertain and refuses to guess.
    assert second.wait(timeout=60) == 1
    assert out.closed() and log.closed()
    assert first.returncode == -signal.SIGKILL
    assert "uncertain" in out.text() and "2 unsupported change(s)" in log.text(), log.text()[-2000:]
    forced = served.cli("apply", str(served.root), "--auto-approve", "--skip-unsupported")
    assert forced.exit_code == 0, forced.output
    assert [c["mobile"] for c in served.emulator.contacts()] == ["+46701234567", "+46709876543"]
    uncertain = {("contacts", "+46701234567"), ("contacts", "+46709876543")}
    assert CHECKS["intime"](served.emulator, uncertain) == []


def test_state_unlock_after_a_killed_holder_finds_the_lock_free(serve_repo: Callable[..., Served]) -> None:
    """After a SIGKILLed apply the system freed its lock: `state unlock` clears its record, naming its pid."""
    served = serve_repo("intime")
    first = start_held_apply(served)
    try:
        first.send_signal(signal.SIGKILL)
        first.communicate(timeout=30)
    finally:
        served.probe.release()
    unlocked = served.cli("state", "unlock", "--dir", str(served.root))
    assert unlocked.exit_code == 0, unlocked.output
    assert "clinic: not locked" in unlocked.output
    assert f"pid={first.pid}" in unlocked.output and "apply" in unlocked.output
    again = served.cli("state", "unlock", "--dir", str(served.root))
    assert again.exit_code == 0 and again.output.strip() == "clinic: not locked.", again.output


def test_state_unlock_refuses_while_the_holder_runs(serve_repo: Callable[..., Served]) -> None:
    """`state unlock` (even --force) refuses a live holder on this host; its lock keeps out a second apply."""
    served = serve_repo("intime")
    first = start_held_apply(served)
    try:
        for extra in ((), ("--force",)):
            unlocked = served.run("state", "unlock", "--dir", str(served.root), *extra)
            assert unlocked.returncode == 1, unlocked.stdout + unlocked.stderr
            assert "locked by a live run on this host" in unlocked.stderr
            assert f"pid={first.pid}" in unlocked.stderr and "Unlocked" not in unlocked.stdout
        before = served.emulator.count()
        second = served.run("apply", ".", "--auto-approve")
        assert second.returncode == 1 and "locked by another run" in second.stderr, second.stderr
        assert served.emulator.count() == before
    finally:
        served.probe.release()
        _, first_err = first.communicate(timeout=60)
    assert first.returncode == 0, first_err
    state_matches_emulator(served)
