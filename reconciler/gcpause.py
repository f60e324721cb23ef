"""Pausing the cyclic garbage collector while a run builds millions of long-lived objects.

Loading 100,000 contacts, reading them back over HTTP and diffing them create millions of small
acyclic objects (dicts, strings, resources) that live until the command ends. Each full collection
walks all of them, so the collector ran about 1,300 times for a second of work and made the diff
grow faster than linearly. Nothing built in these phases holds reference cycles that need
collecting before the command ends; reference counting still frees everything else at once.

When the outermost pause ends after a big build (more than :data:`FREEZE_AFTER` new tracked
objects), the objects that exist are frozen (``gc.freeze()``: moved to the permanent generation)
before the collector resumes. Otherwise its first collections would walk
all of them, up to three times over (once per generation), and the interpreter's collection at
exit once more: a second or more at 100,000 contacts. A long-running host that builds many
configs in one process can call ``gc.unfreeze()`` between them. Small runs (tests, small
configs) are not frozen: nothing is gained there.

Pauses nest across threads: a plan refreshes in a background thread while the main thread loads
the config (:meth:`reconciler.engine.Run.prefetch`), and the collector resumes only when the last
pause of any thread ends.
"""

from __future__ import annotations

import gc
import threading
from collections.abc import Iterator
from contextlib import contextmanager

FREEZE_AFTER = 200_000  # new container objects; 100,000 contacts make several million

_lock = threading.Lock()
_depth = 0  # pauses in progress, in every thread
_resume = False  # whether the collector was enabled when the first of them began


@contextmanager
def gc_paused() -> Iterator[None]:
    """Disable the cyclic collector inside the block; freeze what exists and resume it after.

    Nested blocks, in this thread or another, leave the collector alone: only the last one to end
    resumes it, and only if it was enabled when the first began.
    """
    global _depth, _resume
    with _lock:
        if _depth == 0:
            _resume = gc.isenabled()
            gc.disable()
        _depth += 1
    try:
        yield
    finally:
        with _lock:
            _depth -= 1
            if _depth == 0 and _resume:
                if gc.get_count()[0] > FREEZE_AFTER:
                    gc.freeze()
                gc.enable()
