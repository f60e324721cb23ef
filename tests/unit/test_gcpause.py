"""reconciler.gcpause: the collector is off inside, resumes after, and big builds are frozen."""

from __future__ import annotations

import gc
from collections.abc import Iterator

import pytest

from reconciler import gcpause
from reconciler.gcpause import gc_paused


@pytest.fixture(autouse=True)
def _restore_gc() -> Iterator[None]:
    yield
    gc.unfreeze()
    gc.enable()


def test_collector_is_off_inside_and_back_on_after() -> None:
    """Inside the block the collector is disabled; afterwards it is enabled again."""
    with gc_paused():
        assert not gc.isenabled()
        with gc_paused():
            assert not gc.isenabled()
        assert not gc.isenabled()  # the inner block leaves it to the outer one
    assert gc.isenabled()


def test_a_disabled_collector_stays_disabled() -> None:
    """A caller that had disabled the collector keeps it disabled."""
    gc.disable()
    with gc_paused():
        pass
    assert not gc.isenabled()


def test_a_big_build_is_frozen_and_a_small_one_is_not(monkeypatch: pytest.MonkeyPatch) -> None:
    """More new objects than FREEZE_AFTER are frozen when the pause ends; a handful are not."""
    gc.collect()
    monkeypatch.setattr(gcpause, "FREEZE_AFTER", 10_000)
    before = gc.get_freeze_count()
    with gc_paused():
        small = [{} for _ in range(100)]
    assert gc.get_freeze_count() == before
    with gc_paused():
        big = [{} for _ in range(20_000)]
    assert gc.get_freeze_count() >= before + len(big)
    del small, big


def test_pauses_in_two_threads_resume_when_the_last_ends() -> None:
    """A pause ending in one thread leaves the collector off while another thread's pause runs."""
    import threading

    inside, release = threading.Event(), threading.Event()

    def other() -> None:
        with gc_paused():
            inside.set()
            release.wait(10)

    thread = threading.Thread(target=other)
    with gc_paused():
        thread.start()
        assert inside.wait(10)
    assert not gc.isenabled()  # the other thread still builds
    release.set()
    thread.join(10)
    assert gc.isenabled()
