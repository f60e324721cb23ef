"""Parse big resource files in forked worker processes, on the cores the main process leaves idle.

Parsing YAML is pure Python work past libyaml's scanner: 1.3 s for a file of 100,000 contacts,
during which the main process could translate what the refresh reads. Where the platform can
fork, a file of at least :data:`FORK_MIN_BYTES` is parsed (and schema-checked) by a child process
forked for it; the child sends the result back through a pipe (with :mod:`marshal` when it is
plain data, else pickled; 0.1 s to read back at 100,000 contacts) and exits. The parent meanwhile
parses the small files itself.

A child is forked only while this process runs a single thread: a fork copies only the thread
that calls it, and a lock another thread held at that moment would stay locked in the child. The
child runs nothing but the parse. Whatever goes wrong with a child (it dies, its answer is
unreadable) makes the parent parse that file itself, so the result never depends on the workers.
"""

from __future__ import annotations

import logging
import marshal
import os
import pickle
import signal
import sys
import threading
from collections.abc import Callable, Sequence
from typing import Generic, TypeVar

log = logging.getLogger(__name__)

Job = TypeVar("Job")
Result = TypeVar("Result")

_UNREADABLE = (ChildProcessError, OSError, pickle.UnpicklingError, EOFError, ValueError, TypeError)
FORK_MIN_BYTES = 2_000_000  # smaller files parse faster than a worker starts and answers


def platform_forks() -> bool:
    """Fork exists (Linux, the BSDs) and there is a second core to run a worker on."""
    return (
        hasattr(os, "fork")
        and sys.platform.startswith(("linux", "freebsd", "openbsd", "netbsd"))
        and (os.cpu_count() or 1) > 1
    )


def can_fork() -> bool:
    """Workers are possible now: :func:`platform_forks`, and this process runs one thread."""
    return platform_forks() and threading.active_count() == 1


class _Worker(Generic[Result]):
    """One forked child computing one result, and the read end of its pipe."""

    def __init__(self, pid: int, fd: int) -> None:
        self.pid, self.fd = pid, fd

    def result(self) -> Result:
        """The child's result; raises when it has none to give."""
        with os.fdopen(self.fd, "rb", buffering=1 << 20, closefd=True) as pipe:
            self.fd = -1
            codec = pipe.read(1)
            # marshal.load would call read() per object: read the whole answer first. Pickle streams.
            loaded = marshal.loads(pipe.read()) if codec == b"M" else pickle.load(pipe)
        _, status = os.waitpid(self.pid, 0)
        self.pid = 0
        if status != 0:
            raise ChildProcessError(f"the parse worker ended with status {status}")
        outcome, value = loaded
        if outcome != "ok" and not isinstance(value, str):
            raise ChildProcessError("the parse worker answered nonsense")
        if outcome != "ok":
            raise ChildProcessError(f"the parse worker failed: {value}")
        return value  # type: ignore[no-any-return]

    def stop(self) -> None:
        """End a child whose result nobody will read."""
        if self.fd >= 0:
            os.close(self.fd)
            self.fd = -1
        if self.pid:
            try:
                os.kill(self.pid, signal.SIGKILL)
                os.waitpid(self.pid, 0)
            except (ProcessLookupError, ChildProcessError):
                pass
            self.pid = 0


_IN_WORKER = False


def in_worker() -> bool:
    """True in a forked worker (work done there runs beside the main process, not before it)."""
    return _IN_WORKER


def _fork(work: Callable[[Job], Result], job: Job) -> _Worker[Result]:
    global _IN_WORKER
    read_end, write_end = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child: compute, write, leave without running the parent's exit handlers
        _IN_WORKER = True
        code = 0
        try:
            os.close(read_end)
            try:
                result = ("ok", work(job))
                try:  # marshal writes plain data 8x faster than pickle; anything else is pickled
                    payload = b"M" + marshal.dumps(result)  # type: ignore[arg-type]
                except ValueError:
                    payload = b"P" + pickle.dumps(result, protocol=pickle.HIGHEST_PROTOCOL)
            except BaseException as exc:  # reported to the parent, which parses the file itself
                payload = b"P" + pickle.dumps(("error", f"{type(exc).__name__}: {exc}"))
            with os.fdopen(write_end, "wb", closefd=True) as pipe:
                pipe.write(payload)
        except BaseException:
            code = 1
        finally:
            os._exit(code)
    os.close(write_end)
    return _Worker(pid, read_end)


def run_all(
    work: Callable[[Job], Result],
    jobs: Sequence[Job],
    big: Callable[[Job], bool],
    started: Callable[[], None] | None = None,
) -> list[Result]:
    """``[work(job) for job in jobs]``, in order, with the ``big`` jobs in forked workers when
    :func:`can_fork` (at most one per core but one); the rest run here meanwhile.

    ``started`` runs once the workers are forked, before the work here: the place to start
    threads (they would make forking unsafe).
    """
    slots = (os.cpu_count() or 1) - 1
    chosen = [i for i, job in enumerate(jobs) if big(job)][:slots] if can_fork() else []
    workers: dict[int, _Worker[Result]] = {}
    try:
        for index in chosen:
            workers[index] = _fork(work, jobs[index])
        if started is not None:
            started()
        results: dict[int, Result] = {i: work(job) for i, job in enumerate(jobs) if i not in workers}
        for index, worker in workers.items():
            try:
                results[index] = worker.result()
            except _UNREADABLE as exc:
                log.debug("parse worker: %s; parsing here instead", exc)
                results[index] = work(jobs[index])
        return [results[i] for i in range(len(jobs))]
    finally:
        for worker in workers.values():
            worker.stop()
