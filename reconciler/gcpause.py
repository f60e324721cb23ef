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
"""

from __future__ import annotations

import gc
from collections.abc import Iterator
from contextlib import contextmanager

FREEZE_AFTER = 200_000  # new container objects; 100,000 contacts make several million


@contextmanager
def gc_paused() -> Iterator[None]:
    """Disable the cyclic collector inside the block; freeze what exists and resume it after.

    Nested blocks leave the collector alone: only the outermost one resumes it.
    """
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            if gc.get_count()[0] > FREEZE_AFTER:
                gc.freeze()
            gc.enable()
