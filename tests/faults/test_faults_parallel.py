"""`apply --parallelism 4`: the same result as a sequential apply, within the account's rate limit.

About 40 changes against Intouch (groups, contacts, memberships), through the CLI in process.
For the rate limit, the client's limiter and the emulator's requests-per-minute throttle share a
fake clock, so a minute passes in no time and the emulator's window sees the client's pace.
"""

from __future__ import annotations

import functools
import threading
from collections.abc import Callable
from typing import Any

import pytest

import reconciler.http
from tests.faults.conftest import Served
from tests.faults.schedules import EMULATOR_NOW

GROUPS = ["Bakers", "Drivers", "Office", "Weekend"]


def many_changes_yaml() -> str:
    """4 groups, 12 contacts, each in 2 groups: 40 creates."""
    lines = ["account: oslo", "groups:"]
    lines += [f"  - name: {name}\n    description: The {name.lower()}" for name in GROUPS]
    lines.append("contacts:")
    for i in range(12):
        pair = [GROUPS[i % 4], GROUPS[(i + 1) % 4]]
        lines.append(
            f'  - mobile: "+47 905 51 {i:03d}"\n    first_name: Person{i}\n    groups: [{", ".join(pair)}]'
        )
    return "\n".join(lines) + "\n"


def prepare(served: Served, rate_limit: int | None = None) -> None:
    (served.root / "resources.yaml").write_text(many_changes_yaml(), encoding="utf-8")
    if rate_limit:
        root = served.root / "reconciler.yaml"
        text = root.read_text(encoding="utf-8").replace(
            "    provider: intouch\n", f"    provider: intouch\n    rate_limit: {rate_limit}\n"
        )
        root.write_text(text, encoding="utf-8")


def account_view(emulator: Any) -> dict[str, Any]:
    """The account without ids: groups, contacts and memberships by name and number."""
    contacts = emulator.contacts()
    number = {c["ContactId"]: c["PhoneNumber"] for c in contacts}
    return {
        "groups": sorted((g["Name"], g["Description"]) for g in emulator.groups()),
        "contacts": sorted((c["PhoneNumber"], c["Firstname"]) for c in contacts),
        "members": {
            g["Name"]: sorted(number[cid] for cid in emulator.members(g["GroupId"]))
            for g in emulator.groups()
        },
    }


def test_parallel_apply_matches_sequential(serve_repo: Callable[..., Served]) -> None:
    """40 changes on 4 threads (requests overlapping) end exactly like the same plan applied in order."""
    sequential = serve_repo("intouch", name="sequential")
    parallel = serve_repo("intouch", faults="latency:ms=20:method=POST", name="parallel")
    for served in (sequential, parallel):
        prepare(served)
    plan = parallel.cli("plan", str(parallel.root))
    assert "Plan: 40 to create" in plan.output, plan.output
    assert sequential.cli("apply", str(sequential.root), "--auto-approve").exit_code == 0
    result = parallel.cli("apply", str(parallel.root), "--auto-approve", "--parallelism", "4")
    assert result.exit_code == 0, result.output
    assert parallel.probe.max_inflight >= 2  # the threads did overlap
    assert account_view(parallel.emulator) == account_view(sequential.emulator)
    assert len(account_view(parallel.emulator)["contacts"]) == 12
    assert parallel.cli("plan", str(parallel.root)).exit_code == 0


def test_parallel_lost_answers_are_read_back_one_at_a_time(serve_repo: Callable[..., Served]) -> None:
    """Every contact create answered 500 after committing, on 4 threads: read-backs agree; it converges."""
    served = serve_repo("intouch", faults="commit-then-error:path=/2/contacts:method=POST")
    prepare(served)
    result = served.cli("apply", str(served.root), "--auto-approve", "--parallelism", "4")
    assert result.exit_code == 0, result.output
    assert served.emulator.count("POST", "/2/contacts") == 12
    assert len(served.emulator.contacts()) == 12
    assert served.cli("plan", str(served.root)).exit_code == 0


class SharedClock:
    """Fake epoch time for the emulator's throttle window and the client's rate limiter.

    ``sleep(s)`` moves time to at least the caller's last reading plus ``s`` (threads that sleep
    side by side wait for the same instant, as they would in real time).
    """

    def __init__(self, now: float) -> None:
        self.now = now
        self._lock = threading.Lock()
        self._read = threading.local()

    def __call__(self) -> float:
        with self._lock:
            self._read.at = self.now
            return self.now

    def sleep(self, seconds: float) -> None:
        with self._lock:
            self.now = max(self.now, getattr(self._read, "at", self.now) + seconds)


@pytest.mark.parametrize("rate_limit", [15, None])
def test_parallel_apply_keeps_the_account_rate_limit(
    rate_limit: int | None, serve_repo: Callable[..., Served], monkeypatch: pytest.MonkeyPatch
) -> None:
    """With rate_limit 15/min under a 20/min throttle, 4 threads are never throttled; without it they are."""
    clock = SharedClock(EMULATOR_NOW)
    limiter = functools.partial(reconciler.http.RateLimiter, clock=clock, sleep=clock.sleep)
    monkeypatch.setattr(reconciler.http, "RateLimiter", limiter)
    served = serve_repo("intouch", rpm_limit=20, clock=clock)
    prepare(served, rate_limit)
    result = served.cli("apply", str(served.root), "--auto-approve", "--parallelism", "4")
    throttled = served.probe.statuses[503]
    if rate_limit is None:  # the throttle is real: 40+ requests in one instant exceed 20 a minute
        assert result.exit_code == 1 and "throttled" in result.output
        assert throttled > 0
        return
    assert result.exit_code == 0, result.output
    assert throttled == 0 and "RateLimited" not in result.output
    assert served.emulator.count() > 40
    assert clock.now - EMULATOR_NOW >= 60 * (served.emulator.count() - 1) / rate_limit
    assert served.cli("plan", str(served.root)).exit_code == 0
