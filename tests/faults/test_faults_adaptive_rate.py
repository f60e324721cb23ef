"""Apply at the provider's rate limit without a configured `rate_limit` (issue 11, goal 6).

The Intouch emulator allows R requests a minute; the account sets no `rate_limit`. A 1,000-change
apply through the CLI must end without a "throttled" failure and sustain at least 90% of R: the
client's limiter backs off on the first throttle and probes upwards again (AIMD). The emulator's
window and the client's limiter share a fake clock, so the minutes pass in no time.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

import reconciler.http
from tests.faults.conftest import Served
from tests.faults.schedules import EMULATOR_NOW
from tests.faults.test_faults_parallel import SharedClock

CHANGES = 1000
LIMIT = 300  # requests per minute the emulator allows


def contacts_yaml(count: int) -> str:
    lines = ["account: oslo", "contacts:"]
    lines += [f'  - mobile: "+4790{i:06d}"\n    first_name: Person{i}' for i in range(count)]
    return "\n".join(lines) + "\n"


def test_thousand_creates_sustain_90_percent_of_the_limit_without_failing(
    serve_repo: Callable[..., Served], monkeypatch: pytest.MonkeyPatch
) -> None:
    """1,000 creates against a 300/min throttle: no failure, >= 90% of 300/min, throttled rarely."""
    clock = SharedClock(EMULATOR_NOW)

    class FakeTimeLimiter(reconciler.http.RateLimiter):
        def __init__(self, per_minute: int | None, **_: Any) -> None:
            super().__init__(per_minute, clock=clock, sleep=clock.sleep)

    monkeypatch.setattr(reconciler.http, "RateLimiter", FakeTimeLimiter)
    served = serve_repo("intouch", rpm_limit=LIMIT, clock=clock)
    (served.root / "resources.yaml").write_text(contacts_yaml(CHANGES), encoding="utf-8")
    served.probe.statuses.clear()
    started = clock.now
    result = served.cli("apply", str(served.root), "--auto-approve")
    assert result.exit_code == 0, result.output
    assert "throttled" not in result.output.lower()
    assert len(served.emulator.contacts()) == CHANGES
    accepted = served.probe.statuses[200] + served.probe.statuses[201]
    achieved = accepted / (clock.now - started) * 60
    assert achieved >= 0.9 * LIMIT, achieved
    assert served.probe.statuses[503] <= 5  # backed off and probed upwards, not hammering
