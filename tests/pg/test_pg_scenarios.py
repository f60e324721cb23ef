"""The PostgreSQL backend end to end: real CLI subprocesses, real emulators over HTTP, a real server.

Evidence of concurrency is taken from the emulators, never from wall time: a probe holds one request
of each apply (processed, answer delayed) and the test checks which applies reach their held request
while the others hold theirs.
"""

from __future__ import annotations

import json
import signal
import time
from collections.abc import Callable
from pathlib import Path

from tests.faults.conftest import Lines
from tests.faults.schedules import CHECKS
from tests.pg.conftest import Site, pg_execute

# InTime apply: 3 reads, create groups, read the new group ids back (issue 10), create contacts, ...
CREATE_GROUPS, CREATE_CONTACTS = 4, 6
BOTH_CONTACTS = {("contacts", "+46701234567"), ("contacts", "+46709876543")}


def converged(
    site: Site, cwd: Path | None = None, uncertain: frozenset[tuple[str, str]] = frozenset()
) -> None:
    """Every emulator holds exactly the config (no duplicates) and a plan finds nothing to change."""
    for account in site.accounts.values():
        assert CHECKS["intime"](account.emulator, set(uncertain)) == [], account.name
    final = site.run("plan", ".", cwd=cwd)
    assert final.returncode == 0, final.stdout + final.stderr


def test_eight_applies_on_eight_accounts_run_side_by_side(pg_site: Callable[..., Site]) -> None:
    """Eight applies, one per account, are all mid-apply at once (each holding its lock), then converge."""
    site = pg_site(accounts=8)
    for account in site.accounts.values():
        account.probe.arm(CREATE_CONTACTS, commit=True)
    started = time.monotonic()
    runs = {name: site.spawn("apply", ".", "--auto-approve", "--account", name) for name in site.accounts}
    try:
        for name, account in site.accounts.items():
            # Each apply reaches its held request while the others still hold theirs: no lock serialized them.
            while not account.probe.reached.wait(timeout=0.1):
                assert runs[name].poll() is None, runs[name].communicate()
        held = {a.name for a in site.accounts.values() if a.probe.reached.is_set()}
        assert held == set(site.accounts)
        locks = pg_execute(site.env["RECONCILER_STATE_URL"], f"SELECT count(*) FROM {site.schema}.locks")
        assert locks == [(8,)]
    finally:
        for account in site.accounts.values():
            account.probe.release()
        outputs = {name: run.communicate(timeout=120) for name, run in runs.items()}
    elapsed = time.monotonic() - started
    assert {name: run.returncode for name, run in runs.items()} == dict.fromkeys(site.accounts, 0), outputs
    converged(site)
    print(f"eight concurrent applies on eight accounts: {elapsed:.1f}s")


def test_two_applies_on_one_account_serialize(pg_site: Callable[..., Site]) -> None:
    """A second apply of the same account waits for the first one's lock, then finds nothing to do."""
    site = pg_site()
    account = site.accounts["clinic"]
    account.probe.arm(CREATE_CONTACTS, commit=True)
    first = site.spawn("apply", ".", "--auto-approve")
    while not account.probe.reached.wait(timeout=0.05):
        assert first.poll() is None, first.communicate()
    second = site.spawn("apply", ".", "--auto-approve", "--lock-timeout", "60")
    log, out = Lines(second.stderr), Lines(second.stdout)  # type: ignore[arg-type]
    try:
        waiting = log.wait_for(
            lambda lines: any("account clinic is locked by another run" in x for x in lines)
        )
        assert waiting and f"pid={first.pid}" in log.text(), log.text()[-2000:]
        requests = account.emulator.count()
        assert second.poll() is None and account.emulator.count() == requests  # waiting, sending nothing
    finally:
        account.probe.release()
        first_out, first_err = first.communicate(timeout=60)
    assert first.returncode == 0, first_err
    assert second.wait(timeout=60) == 0, log.text()[-2000:]
    assert out.closed() and "No changes" in out.text(), out.text()
    converged(site)


def test_a_killed_holder_releases_its_lock_and_the_next_run_converges(pg_site: Callable[..., Site]) -> None:
    """SIGKILL mid-apply: the server ends its session and lock; the next apply runs at once, no duplicates."""
    site = pg_site()
    account = site.accounts["clinic"]
    account.probe.arm(CREATE_GROUPS, commit=True)  # groups are created, the answer never read
    first = site.spawn("apply", ".", "--auto-approve")
    try:
        while not account.probe.reached.wait(timeout=0.05):
            assert first.poll() is None, first.communicate()
        first.send_signal(signal.SIGKILL)
        first.communicate(timeout=30)
    finally:
        account.probe.release()
    assert first.returncode == -signal.SIGKILL
    # Nobody unlocks: the server ends the dead client's session and its lock (within moments).
    second = site.run("apply", ".", "--auto-approve", "--lock-timeout", "30")
    assert second.returncode == 0, second.stdout + second.stderr
    assert [g["name"] for g in account.emulator.groups()].count("Personal") == 1
    converged(site)


def test_state_pushed_from_a_file_plans_empty_from_a_fresh_checkout(pg_site: Callable[..., Site]) -> None:
    """Apply with a state file, switch to PostgreSQL, `state push`: a clone without the file plans empty."""
    site = pg_site(backend="file")
    applied = site.run("apply", ".", "--auto-approve")
    assert applied.returncode == 0, applied.stderr
    site.write_config("postgres")
    unpushed = site.run("plan", ".", cwd=site.checkout("before-push"))
    assert unpushed.returncode == 2  # InTime cannot list contacts: without the state they look missing
    pushed = site.run("state", "push", "--dir", ".")
    assert pushed.returncode == 0 and "Pushed 1 account(s)" in pushed.stdout, pushed.stdout + pushed.stderr
    clone = site.checkout("clone")
    assert not (clone / ".reconciler").exists()
    converged(site, cwd=clone)
    again = site.run("state", "push", "--dir", ".")
    assert again.returncode == 0 and "nothing copied" in again.stdout, again.stdout + again.stderr


def test_a_dropped_connection_mid_apply_leaves_nothing_half_written(pg_site: Callable[..., Site]) -> None:
    """Terminating the run's database session mid-apply stops it cleanly; the state stays consistent."""
    site = pg_site()
    url = site.env["RECONCILER_STATE_URL"]
    account = site.accounts["clinic"]
    account.probe.arm(CREATE_CONTACTS, commit=True)
    first = site.spawn("apply", ".", "--auto-approve")
    try:
        while not account.probe.reached.wait(timeout=0.05):
            assert first.poll() is None, first.communicate()
        [(backend_pid,)] = pg_execute(url, f"SELECT backend_pid FROM {site.schema}.locks")
        assert pg_execute(url, "SELECT pg_terminate_backend(%s)", backend_pid) == [(True,)]
    finally:
        account.probe.release()
    out, err = first.communicate(timeout=60)
    assert first.returncode == 1, out + err
    assert "lost the connection to the database" in err and "nothing was half-written" in err, err
    assert "Traceback" not in err and url not in err
    after_stop = account.emulator.count()
    # What was committed is whole: both contacts' intents (sent, result unknown), and nothing after.
    document = site.document()
    assert {(i["type"], i["key"]) for i in document["intents"]} == BOTH_CONTACTS
    assert document["accounts"] == {} and document["serials"] == {"clinic": 2}
    assert account.emulator.count() == after_stop  # the stopped run sent nothing more
    forced = site.run("apply", ".", "--auto-approve", "--skip-unsupported")  # skip the two uncertain
    assert forced.returncode == 0, forced.stdout + forced.stderr
    assert sorted(c["mobile"] for c in account.emulator.contacts()) == sorted(m for _, m in BOTH_CONTACTS)
    assert CHECKS["intime"](account.emulator, BOTH_CONTACTS) == []


def test_plan_in_one_checkout_applies_in_another(pg_site: Callable[..., Site]) -> None:
    """A plan saved in one checkout applies in another (no shared files), and both then plan empty."""
    site = pg_site()
    planner, applier = site.checkout("planner"), site.checkout("applier")
    planned = site.run("plan", ".", "--out", "plan.json", cwd=planner)
    assert planned.returncode == 2, planned.stderr
    saved = applier.parent / "handed-over.json"
    saved.write_bytes((planner / "plan.json").read_bytes())
    applied = site.run("apply", str(saved), "--config", ".", cwd=applier)
    assert applied.returncode == 0, applied.stdout + applied.stderr
    converged(site, cwd=planner)
    converged(site, cwd=applier)
    assert not (planner / ".reconciler").exists() and not (applier / ".reconciler").exists()


def test_a_saved_plan_is_refused_once_its_accounts_serial_moved(pg_site: Callable[..., Site]) -> None:
    """A plan saved before another checkout wrote the account's state is refused, naming the serial."""
    site = pg_site()
    ours, theirs = site.checkout("ours"), site.checkout("theirs")
    assert site.run("apply", ".", "--auto-approve", cwd=theirs).returncode == 0
    planned = site.run("plan", ".", "--out", "plan.json", cwd=ours)
    assert planned.returncode == 0, planned.stderr  # nothing to change, but a valid saved plan
    meta = json.loads((ours / "plan.json").read_text(encoding="utf-8"))["meta"]
    serial = meta["state_serials"]["clinic"]
    assert serial > 0
    moved = site.run(
        "state", "mv", "clinic/reminders/anna-check-up", "clinic/reminders/anna", "--dir", ".", cwd=theirs
    )
    assert moved.returncode == 0, moved.stderr
    refused = site.run("apply", "plan.json", "--config", ".", cwd=ours)
    assert refused.returncode == 1
    assert f"another run wrote clinic (serial {serial}, now {serial + 2})" in refused.stderr, refused.stderr
