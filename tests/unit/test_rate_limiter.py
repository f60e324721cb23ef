"""The adaptive rate limiter (AIMD) of reconciler/ratelimit.py against a simulated per-minute throttle.

Time is fake: the limiter's sleeps move the clock, so minutes pass in no time. The simulated
provider accepts at most R requests in any 60 s (a sliding window, as the emulators count).
"""

from __future__ import annotations

from collections import deque

import pytest

from reconciler.ratelimit import RateLimiter


class Clock:
    """Fake monotonic time; ``sleep`` advances it."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.now += seconds


class Throttle:
    """A provider allowing ``limit`` requests in any 60 s; throttled requests do not count."""

    def __init__(self, limit: int, clock: Clock) -> None:
        self.limit, self.clock = limit, clock
        self.window: deque[float] = deque()
        self.throttled = 0

    def accept(self) -> bool:
        now = self.clock()
        while self.window and self.window[0] <= now - 60:
            self.window.popleft()
        if len(self.window) >= self.limit:
            self.throttled += 1
            return False
        self.window.append(now)
        return True


def send(count: int, limiter: RateLimiter, provider: Throttle, clock: Clock, attempts: int = 6) -> float:
    """Send ``count`` requests through ``limiter``, retrying throttled ones; return the seconds taken."""
    started = clock()
    for _ in range(count):
        for _attempt in range(attempts):
            limiter.wait()
            clock.sleep(0.005)  # the request itself
            if provider.accept():
                break
            limiter.throttled()
        else:
            pytest.fail(f"a request was throttled {attempts} times in a row")
    return clock() - started


@pytest.mark.parametrize("limit", [60, 300, 900])
def test_adaptive_rate_sustains_90_percent_of_the_provider_limit(limit: int) -> None:
    """1,000 requests without a configured rate_limit run at >= 90% of the provider's R per minute."""
    clock = Clock()
    limiter = RateLimiter(None, clock=clock, sleep=clock.sleep)
    provider = Throttle(limit, clock)
    seconds = send(1000, limiter, provider, clock)
    achieved = 1000 / seconds * 60
    assert achieved >= 0.9 * limit, (achieved, limiter.throttles)
    assert limiter.throttles <= 1 + seconds / 60 / 2  # it probes upwards, but not every minute


def test_configured_rate_limit_is_never_exceeded_and_never_throttled() -> None:
    """With rate_limit below the provider's limit, requests are spaced and nothing is throttled."""
    clock = Clock()
    limiter = RateLimiter(50, clock=clock, sleep=clock.sleep)
    provider = Throttle(60, clock)
    seconds = send(200, limiter, provider, clock)
    assert provider.throttled == 0
    assert seconds >= 60 * 199 / 50


def test_configured_rate_above_the_provider_limit_backs_off_and_stays_under_it() -> None:
    """With rate_limit above the provider's, the first throttle brings the rate under it."""
    clock = Clock()
    limiter = RateLimiter(600, clock=clock, sleep=clock.sleep)
    provider = Throttle(100, clock)
    send(500, limiter, provider, clock)
    assert limiter.rate is not None and limiter.rate <= 600
    assert provider.throttled <= 1 + limiter.throttles


def test_throttles_of_requests_in_flight_together_lower_the_rate_once() -> None:
    """Eight threads throttled at once (one burst) count as one back-off, not eight."""
    clock = Clock()
    limiter = RateLimiter(None, clock=clock, sleep=clock.sleep)
    for _ in range(100):
        limiter.wait()
    for _ in range(8):
        limiter.throttled()
    assert limiter.throttles == 1
    assert limiter.rate == pytest.approx(RateLimiter.decrease * 99)  # set by the first throttle alone


def test_a_throttle_holds_every_caller_until_the_window_has_room() -> None:
    """After a throttle the next request waits until the oldest one of the window has aged out."""
    clock = Clock()
    limiter = RateLimiter(None, clock=clock, sleep=clock.sleep)
    start = clock()
    for _ in range(10):
        limiter.wait()
    limiter.throttled()
    limiter.wait()
    assert clock() == pytest.approx(start + 60)


def test_scale_zero_removes_the_adaptive_waits_but_not_the_configured_spacing() -> None:
    """scale=0 (tests) skips holds and learned spacing; a configured rate_limit still spaces requests."""
    clock = Clock()
    limiter = RateLimiter(None, clock=clock, sleep=clock.sleep, scale=0)
    limiter.wait()
    limiter.throttled()
    limiter.wait()
    assert clock() == 1000.0
    paced = RateLimiter(60, clock=clock, sleep=clock.sleep, scale=0)
    paced.wait()
    paced.wait()
    assert clock() == 1001.0


def test_a_first_throttle_waits_for_the_limiter_only_a_second_backs_off() -> None:
    """After one throttle the limiter's hold is the wait (no fixed delay on top: at 120 requests a
    minute, Intouch's 15 s minimum cost 0.04 of the rate per throttle); a request throttled again
    means the limiter's model of the window is off, and the minimum delay applies."""
    from reconciler.http import RetryPolicy

    policy = RetryPolicy(throttle_min_delay=15.0)
    assert policy.delay(1, True) == 0.0
    assert all(policy.delay(attempt, True) >= 15.0 for attempt in range(2, 6))
    assert policy.delay(1, False) <= 1.0  # other retries keep their backoff
