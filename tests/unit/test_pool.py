"""reconciler.pool.read_all: concurrent reads of independent lists, bounded, in order."""

from __future__ import annotations

import threading
import time

import pytest

from reconciler.pool import read_all


def test_results_come_back_in_item_order() -> None:
    """Results are in the order of the items, whatever order the calls finish in."""

    def slow_for_small(n: int) -> int:
        time.sleep(0.002 * (10 - n))
        return n * n

    assert read_all(slow_for_small, list(range(10))) == [n * n for n in range(10)]


def test_no_more_than_the_given_number_of_calls_run_at_once() -> None:
    """With workers=3, at most 3 calls overlap, and they do overlap."""
    lock = threading.Lock()
    running, most = 0, 0

    def read(_: int) -> None:
        nonlocal running, most
        with lock:
            running += 1
            most = max(most, running)
        time.sleep(0.01)
        with lock:
            running -= 1

    read_all(read, list(range(12)), workers=3)
    assert most == 3


def test_the_first_failure_in_item_order_is_raised() -> None:
    """A failing read raises its own error (the earliest failing item's), not a pool error."""

    def read(n: int) -> int:
        if n in (3, 7):
            raise ValueError(f"item {n}")
        return n

    with pytest.raises(ValueError, match="item 3"):
        read_all(read, list(range(10)))


def test_one_worker_reads_in_the_calling_thread() -> None:
    """workers=1 runs the reads one by one in the caller's thread."""
    threads = read_all(lambda _: threading.current_thread().name, [1, 2], workers=1)
    assert threads == [threading.current_thread().name] * 2
