"""Reads of independent lists on a bounded pool of threads, for one account's client.

A refresh of 1,000 groups needs 1,000 member lists; one after the other, a network with 20 ms per
request makes that 20 s of waiting. The reads do not depend on each other, so up to
:data:`READERS` run at once. The threads share the client's session (its connection pool) and its
:class:`~reconciler.http.RateLimiter`, so the account's ``rate_limit`` still holds, and a throttle
answer to one of them holds all of them.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import TypeVar

Item = TypeVar("Item")
Result = TypeVar("Result")

# Concurrent reads per account: enough to hide 20 ms of latency per request behind the parsing
# of the answers, few enough for a provider's per-user connection limits.
READERS = 8


def read_all(read: Callable[[Item], Result], items: Sequence[Item], workers: int = READERS) -> list[Result]:
    """``[read(item) for item in items]`` with up to ``workers`` calls at a time, in item order.

    The first failure in item order is raised once the calls already running have ended; calls
    that had not started are cancelled. ``read`` must not depend on another call's result.
    """
    if workers <= 1 or len(items) <= 1:
        return [read(item) for item in items]
    with ThreadPoolExecutor(max_workers=min(workers, len(items)), thread_name_prefix="read") as pool:
        futures = [pool.submit(read, item) for item in items]
        try:
            return [future.result() for future in futures]
        except BaseException:
            for future in futures:
                future.cancel()
            raise
