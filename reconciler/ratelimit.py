"""The adaptive rate limiter (AIMD) one account's HTTP client shares across its threads.

Used by :class:`reconciler.http.HttpClient`; the reads of :mod:`reconciler.pool` go through it, so
an account's ``rate_limit`` holds however many threads read, and a throttle holds them all.
"""

from __future__ import annotations

import logging
import threading
import time
from collections import deque
from collections.abc import Callable

log = logging.getLogger("reconciler.http")  # the HTTP layer's logger, where these lines always were


class RateLimiter:
    """Requests per minute of one account, shared by every thread of its client; adaptive (AIMD).

    With ``per_minute`` (the account's ``rate_limit``) requests are spaced to stay under it from
    the start; without it they go as fast as they are made until the provider first throttles.
    On a throttle every thread holds until the oldest request of the last ``window`` has aged out
    of the provider's window, and the rate becomes 95% of what the provider accepted in that
    window (multiplicative decrease). Each window without a throttle adds 5% (additive probing
    upwards), never above ``per_minute``. Throttles that arrive while the threads already hold
    (answers to requests that were in flight together) lower the rate only once. ``scale``
    multiplies the waits that adaptation adds (the retry policy's scale: 0 in tests), never the
    spacing ``per_minute`` asks for.
    """

    window = 60.0
    decrease = 0.95
    increase = 0.05

    def __init__(
        self,
        per_minute: int | None,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
        scale: float = 1.0,
    ) -> None:
        self.per_minute = per_minute
        self.rate: float | None = float(per_minute) if per_minute else None
        self.scale = scale
        self._clock = clock
        self._sleep = sleep
        self._lock = threading.Lock()
        self._next = 0.0  # earliest start of the next request at the current rate
        self._next_configured = 0.0  # the same at per_minute
        self._hold_until = 0.0
        self._grown_at: float | None = None  # when the rate last grew (or was set)
        self._sent: deque[float] = deque()
        self.throttles = 0

    def wait(self) -> None:
        """Block until the next request may be sent, and count it as sent."""
        with self._lock:
            now = self._clock()
            self._grow(now)
            configured = now
            if self.per_minute:
                configured = max(now, self._next_configured)
                self._next_configured = configured + self.window / self.per_minute
            start = max(configured, self._hold_until)
            if self.rate is not None:
                start = max(start, self._next)
                self._next = start + self.window / self.rate
            self._sent.append(start)
            self._forget(start)
        wait = (configured - now) + (start - configured) * self.scale
        if wait > 0:
            self._sleep(wait)

    def throttled(self) -> None:
        """The provider said slow down: hold everyone, then go on at 95% of what it accepted."""
        with self._lock:
            now = self._clock()
            if self._sent:
                self._sent.pop()  # the throttled request did not count at the provider
            self._forget(now)
            if now < self._hold_until:
                return
            self.throttles += 1
            accepted = len(self._sent)
            rate = accepted * self.decrease
            if self.rate is not None:
                rate = min(rate, self.rate * self.decrease)
            self.rate = max(1.0, rate)
            oldest = self._sent[0] if self._sent else now
            self._hold_until = min(oldest + self.window, now + self.window)
            self._next = self._hold_until
            self._grown_at = self._hold_until
        log.info(
            "rate: throttled; holding %.1fs, then %.0f requests/minute", self._hold_until - now, self.rate
        )

    def _grow(self, now: float) -> None:
        if self._grown_at is None:
            self._grown_at = now
        if self.rate is None or now - self._grown_at < self.window:
            return
        steps = int((now - self._grown_at) // self.window)
        self._grown_at += steps * self.window
        self.rate *= (1 + self.increase) ** min(steps, 100)
        if self.per_minute:
            self.rate = min(self.rate, float(self.per_minute))

    def _forget(self, now: float) -> None:
        while self._sent and self._sent[0] <= now - self.window:
            self._sent.popleft()
