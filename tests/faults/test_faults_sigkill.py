"""SIGKILL at any request of `reconciler apply`: the rerun converges and nothing is duplicated.

`python -m reconciler.cli apply` runs as a subprocess against an emulator served from the test
process. The probe's tripwire holds the k-th API request (after the emulator committed it, or before it
processed it) until the test has killed the process with SIGKILL, so every kill lands mid-apply
at a known point. The kill points cover every request of a clean apply, both ways.
"""

from __future__ import annotations

import json
import signal
from collections.abc import Callable

import pytest

from tests.faults.conftest import Served
from tests.faults.schedules import CHECKS, UNLISTABLE

KILL_POINTS = {"intouch": 24, "intime": 20, "smsconnector": 24}


def kill_point(index: int, points: int, requests: int) -> tuple[int, bool]:
    """Spread ``points`` kill points evenly over (request k, committed or not) of a clean apply."""
    every = [(k, commit) for k in range(1, requests + 1) for commit in (False, True)]
    return every[round(index * (len(every) - 1) / max(1, points - 1))]


def run_until_tripped(served: Served, *options: str) -> int:
    """Start apply; SIGKILL it once the probe holds its request. Returns the exit status."""
    proc = served.spawn("apply", ".", "--auto-approve", *options)
    try:
        while not served.probe.reached.wait(timeout=0.05):
            if proc.poll() is not None:
                out, err = proc.communicate()
                pytest.fail(f"apply finished (exit {proc.returncode}) before the kill point:\n{out}\n{err}")
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=30)
    finally:
        served.probe.release()
        if proc.poll() is None:
            proc.kill()
        proc.communicate()
    return proc.returncode


def rerun_and_check(served: Served) -> set[tuple[str, str]]:
    """Rerun apply to completion (with --skip-unsupported only past uncertain creates); check the account."""
    root = str(served.root)
    again = served.cli("apply", root, "--auto-approve")
    if again.exit_code != 0:
        # Only an uncertain create (never silently recreated) may stop the plain rerun.
        assert "unsupported" in again.output and "uncertain:" in again.output, again.output
        again = served.cli("apply", root, "--auto-approve", "--skip-unsupported")
    assert again.exit_code == 0, again.output
    final = served.cli("plan", root, "--format", "json")
    assert final.exit_code in (0, 2), final.output
    changes = json.loads(final.stdout)["changes"]
    uncertain = set()
    for change in changes:
        assert change["action"] == "unsupported" and change["reason"].startswith("uncertain"), change
        assert change["type"] in UNLISTABLE[served.provider], change
        uncertain.add((change["type"], change["key"]))
    problems = CHECKS[served.provider](served.emulator, uncertain)
    assert not problems, problems
    return uncertain


@pytest.mark.parametrize(("provider", "index"), [(p, i) for p, n in KILL_POINTS.items() for i in range(n)])
def test_sigkill_mid_apply_then_rerun_converges(
    provider: str, index: int, serve_repo: Callable[..., Served], clean_request_count: Callable[[str], int]
) -> None:
    """Killing apply while request k is in flight loses nothing: the rerun converges without duplicates."""
    k, commit = kill_point(index, KILL_POINTS[provider], clean_request_count(provider))
    served = serve_repo(provider)
    served.probe.arm(k, commit)
    assert run_until_tripped(served) == -signal.SIGKILL
    rerun_and_check(served)


PARALLEL_KILL_POINTS = 6


@pytest.mark.parametrize(
    ("provider", "index"), [(p, i) for p in KILL_POINTS for i in range(PARALLEL_KILL_POINTS)]
)
def test_sigkill_mid_parallel_apply_then_rerun_converges(
    provider: str, index: int, serve_repo: Callable[..., Served], clean_request_count: Callable[[str], int]
) -> None:
    """With --parallelism 4 (other threads keep going while request k is held) the rerun still converges."""
    k, commit = kill_point(index, PARALLEL_KILL_POINTS, clean_request_count(provider))
    served = serve_repo(provider)
    served.probe.arm(k, commit)
    assert run_until_tripped(served, "--parallelism", "4") == -signal.SIGKILL
    rerun_and_check(served)


def test_kill_points_cover_every_request_both_ways() -> None:
    """With as many points as (request, committed) pairs, every pair is a kill point once."""
    points = [kill_point(i, 24, 12) for i in range(24)]
    assert sorted(points) == [(k, c) for k in range(1, 13) for c in (False, True)]
