"""Parse big resource files in forked worker processes, on the cores the main process leaves idle.

Parsing YAML is pure Python work past libyaml's scanner: 1.3 s for a file of 100,000 contacts,
during which the main process could translate what the refresh reads. Where the platform can
fork, a file of at least :data:`FORK_MIN_BYTES` is parsed (and schema-checked) by a child process
forked for it; the child writes the result (with :mod:`marshal` when it is plain data, else
pickled) to a private anonymous file and says where through a pipe; 0.1 s to read back at 100,000
contacts. Through the pipe itself the 10 MB of that answer took 0.3 s more: each 64 KB the pipe
holds is one read that gives up the interpreter lock, and with the refresh thread busy each takes
up to the 5 ms switch interval to get it back. It then prepares the later
part of the file's items (normalization and checks, :class:`Staged`) while the main process
validates the earlier part, and sends those too. The parent meanwhile
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
import tempfile
import threading
from collections.abc import Callable, Sequence
from typing import Any, TypeVar

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


class Staged:
    """A result in two parts. In a worker, ``first`` is sent as soon as it is ready and ``rest()``
    runs after, its value arriving through :attr:`later`; done in the main process, ``rest`` is
    not run at all (its work would only move), and :attr:`later` gives ``None``."""

    def __init__(self, first: Any, rest: Callable[[], Any]) -> None:
        self.first, self.rest = first, rest
        self.later = Later(None)


class Later:
    """The second part of a staged result, read from its worker when first asked for."""

    def __init__(self, worker: _Worker | None) -> None:
        self._worker = worker
        self._value: Any = None

    def get(self) -> Any:
        """The value, waiting for the worker if need be; ``None`` when it has none to give."""
        worker, self._worker = self._worker, None
        if worker is not None:
            try:
                self._value = worker.value(worker.message())
                worker.finish()
            except _UNREADABLE as exc:
                log.debug("parse worker: %s; the main process does that work instead", exc)
            finally:
                worker.stop()
        return self._value

    def close(self) -> None:
        """Stop the worker if its second part was never asked for."""
        worker, self._worker = self._worker, None
        if worker is not None:
            worker.stop()


class _Worker:
    """One forked child computing one result, and the read end of its pipe."""

    def __init__(self, pid: int, fd: int, spool: int) -> None:
        self.pid = pid
        self.pipe = os.fdopen(fd, "rb", buffering=0, closefd=True)
        self.spool = spool  # the file the child writes its answers to (see _send)
        self.handed = False  # its second part belongs to a Later

    def message(self) -> Any:
        """The next message: where it lies in the spool file (offset, length), from the pipe; there
        a codec byte, then marshal or pickle data."""
        head = _read_exactly(self.pipe.read, _HEAD)
        if len(head) != _HEAD:
            raise EOFError("the parse worker ended without answering")
        offset, size = int.from_bytes(head[:8], "big"), int.from_bytes(head[8:], "big")
        payload = _read_exactly(lambda n: os.pread(self.spool, n, offset + size - n), size)
        if len(payload) != size:
            raise EOFError("the parse worker's answer was cut short")
        body = memoryview(payload)[1:]  # no copy of the answer
        return marshal.loads(body) if payload[:1] == b"M" else pickle.loads(body)

    @staticmethod
    def value(message: Any) -> Any:
        outcome, value = message
        if outcome != "ok":
            raise ChildProcessError(f"the parse worker failed: {value}")
        return value

    def result(self) -> Any:
        """The child's result (a :class:`Staged` one with a :class:`Later` for its second part)."""
        kind, value = self.value(self.message())
        if kind == "staged":
            staged = Staged(value, lambda: None)
            staged.later = Later(self)
            self.handed = True
            return staged
        self.finish()
        return value

    def finish(self) -> None:
        _, status = os.waitpid(self.pid, 0)
        self.pid = 0
        if status != 0:
            raise ChildProcessError(f"the parse worker ended with status {status}")

    def stop(self) -> None:
        """End a child whose answers nobody will read."""
        self.pipe.close()
        if self.spool >= 0:
            os.close(self.spool)
            self.spool = -1
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


_HEAD = 16  # a message's offset and length in the spool file, 8 bytes each


def _read_exactly(read: Callable[[int], bytes], size: int) -> bytes:
    """``size`` bytes from ``read(n)`` (which may return fewer), fewer only at the end of data."""
    parts: list[bytes] = []
    while size > 0:
        part = read(size)
        if not part:
            break
        parts.append(part)
        size -= len(part)
    return parts[0] if len(parts) == 1 else b"".join(parts)


def _spool() -> int:
    """A private anonymous file for a child's answers: memory-backed on Linux, else an unlinked
    temporary file. Reading it back is one system call however large the answer."""
    if hasattr(os, "memfd_create"):
        try:
            return os.memfd_create("reconciler-parse", os.MFD_CLOEXEC)
        except OSError:
            pass
    with tempfile.TemporaryFile() as handle:
        return os.dup(handle.fileno())


def _send(pipe: Any, spool: int, message: Any) -> None:
    """Append ``message`` to the spool file, then say through the pipe where it lies."""
    try:  # marshal writes plain data 8x faster than pickle; anything else is pickled
        payload = b"M" + marshal.dumps(message)
    except ValueError:
        payload = b"P" + pickle.dumps(message, protocol=pickle.HIGHEST_PROTOCOL)
    offset = os.lseek(spool, 0, os.SEEK_END)
    view = memoryview(payload)
    while view:
        view = view[os.write(spool, view) :]
    pipe.write(offset.to_bytes(8, "big") + len(payload).to_bytes(8, "big"))
    pipe.flush()


def _failure(exc: BaseException) -> tuple[str, str]:
    return ("error", f"{type(exc).__name__}: {exc}")


def _fork(work: Callable[[Job], Any], job: Job) -> _Worker:
    global _IN_WORKER
    spool = _spool()
    read_end, write_end = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child: compute, write, leave without running the parent's exit handlers
        _IN_WORKER = True
        code = 0
        try:
            os.close(read_end)
            with os.fdopen(write_end, "wb", closefd=True) as pipe:
                try:
                    result = work(job)
                except BaseException as exc:  # reported to the parent, which does the job itself
                    _send(pipe, spool, _failure(exc))
                else:
                    if isinstance(result, Staged):
                        _send(pipe, spool, ("ok", ("staged", result.first)))
                        try:
                            rest = ("ok", result.rest())
                        except BaseException as exc:
                            rest = _failure(exc)
                        _send(pipe, spool, rest)
                    else:
                        _send(pipe, spool, ("ok", ("plain", result)))
        except BaseException:
            code = 1
        finally:
            os._exit(code)
    os.close(write_end)
    return _Worker(pid, read_end, spool)


def run_all(
    work: Callable[[Job], Result],
    jobs: Sequence[Job],
    big: Callable[[Job], bool],
    started: Callable[[], None] | None = None,
) -> list[Result]:
    """``[work(job) for job in jobs]``, in order, with the ``big`` jobs in forked workers when
    :func:`can_fork` (at most one per core but one); the rest run here meanwhile.

    ``started`` runs once the workers are forked, before the work here: the place to start
    threads (they would make forking unsafe). A job whose work returns :class:`Staged` comes back
    as soon as its first part is ready; a worker keeps computing the second part (its
    :class:`Later`, which the caller reads or closes), the main process skips it.
    """
    slots = (os.cpu_count() or 1) - 1
    chosen = [i for i, job in enumerate(jobs) if big(job)][:slots] if can_fork() else []
    workers: dict[int, _Worker] = {}
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
            if not worker.handed:
                worker.stop()
