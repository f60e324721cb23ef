"""reconciler.config.workers: big files parse in forked workers, with the same result as here.

A worker is forked only while its process runs one thread, and the test process has others (the
emulators of other tests), so each check that needs a worker runs in a fresh interpreter:
``python tests/unit/test_config_workers.py CHECK``.
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import threading
from datetime import datetime
from pathlib import Path

import pytest

from reconciler.config import workers
from reconciler.config.load import load_config
from reconciler.errors import ConfigError

PARENT = os.getpid()  # in a fresh interpreter: the process that runs the check, the workers' parent


def fresh(check: str) -> None:
    """Run ``check`` of this module in a new interpreter; its failure fails the test."""
    child = subprocess.run([sys.executable, __file__, check], capture_output=True, text=True, timeout=120)
    assert child.returncode == 0, child.stdout + child.stderr


def whose(job: int) -> tuple[int, int]:
    return job * 2, os.getpid()


def check_big_jobs_run_in_a_worker_and_results_keep_their_order() -> None:
    results = workers.run_all(whose, [1, 2, 3], big=lambda job: job == 2)
    assert [value for value, _ in results] == [2, 4, 6]
    pids = [pid for _, pid in results]
    assert pids[1] != os.getpid() and pids[0] == pids[2] == os.getpid(), pids


def check_started_runs_after_the_fork_and_before_the_work_here() -> None:
    order: list[str] = []

    def work(job: int) -> int:
        order.append(f"work {job}")
        return job

    started = lambda: order.append("started")  # noqa: E731
    assert workers.run_all(work, [1, 2], big=lambda job: job == 1, started=started) == [1, 2]
    assert order == ["started", "work 2"], order  # job 1 ran in the worker, whose list is its own


def big_answer(job: int) -> workers.Staged:
    first = [f"{job}-{i}" * 20 for i in range(50_000)]  # several MB, far over a pipe's 64 KB
    return workers.Staged(first, lambda: {"rest": bytes(range(256)) * 20_000})


def open_descriptors() -> set[str]:
    return set(os.listdir("/proc/self/fd")) if os.path.isdir("/proc/self/fd") else set()


def check_answers_larger_than_a_pipe_come_whole_and_leave_no_descriptor() -> None:
    before = open_descriptors()
    staged = workers.run_all(big_answer, [7], big=lambda job: True)[0]
    assert isinstance(staged, workers.Staged)
    assert staged.first == [f"7-{i}" * 20 for i in range(50_000)]
    assert staged.later.get() == {"rest": bytes(range(256)) * 20_000}
    assert open_descriptors() == before


def crash_in_worker(job: int) -> int:
    if os.getpid() != PARENT:
        os._exit(3)  # a worker that dies without answering
    return job + 1


def fail_in_worker(job: int) -> int:
    if os.getpid() != PARENT:
        raise MemoryError("no room")
    return job + 1


def check_a_worker_that_fails_leaves_the_job_to_the_parent() -> None:
    for work in (crash_in_worker, fail_in_worker):
        assert workers.run_all(work, [1, 2], big=lambda job: True) == [2, 3]


def dated(job: int) -> tuple[int, datetime, int]:
    return job, datetime(2026, 12, 1, 8, 30), os.getpid()  # a datetime: marshal cannot, pickle can


def check_an_answer_marshal_cannot_write_comes_pickled() -> None:
    results = workers.run_all(dated, [1, 2], big=lambda job: job == 1)
    assert [r[:2] for r in results] == [(1, datetime(2026, 12, 1, 8, 30)), (2, datetime(2026, 12, 1, 8, 30))]
    assert results[0][2] != os.getpid()


def staged(job: int) -> workers.Staged:
    return workers.Staged(("first", job), lambda: ("rest", os.getpid()))


def staged_then_crash(job: int) -> workers.Staged:
    return workers.Staged(("first", job), lambda: os._exit(5))


def staged_slowly(job: int) -> workers.Staged:
    import time

    return workers.Staged(("first", job), lambda: time.sleep(60))


def check_a_staged_second_part_comes_from_the_worker() -> None:
    [result] = workers.run_all(staged, [1], big=lambda job: True)
    assert result.first == ("first", 1)
    rest, pid = result.later.get()
    assert rest == "rest" and pid != os.getpid()


def check_a_staged_second_part_that_never_comes_is_none() -> None:
    [result] = workers.run_all(staged_then_crash, [1], big=lambda job: True)
    assert result.first == ("first", 1)
    assert result.later.get() is None  # the caller does that work itself


def check_in_this_process_the_second_part_is_not_computed() -> None:
    [result] = workers.run_all(staged, [1], big=lambda job: False)
    assert result.first == ("first", 1) and result.later.get() is None


def check_an_unread_second_part_is_closed_with_its_worker() -> None:
    [result] = workers.run_all(staged_slowly, [1], big=lambda job: True)
    result.later.close()
    with pytest.raises(ChildProcessError):
        os.waitpid(-1, os.WNOHANG)  # no child left, not even a zombie


def _contacts(count: int, bad_at: int | None = None) -> str:
    lines = ["account: no", "contacts:"]
    for i in range(count):
        mobile = "not a number" if i == bad_at else f"+4790{i:06d}"
        mobile = "+4722334455" if i == 5 else mobile  # a landline: a warning from the number check
        first = "Ѕcott" if i == 7 else f"First {i}"  # a Cyrillic S among Latin letters: a warning
        lines.append(f'  - {{mobile: "{mobile}", first_name: "{first}", last_name: Last}}')
    return "\n".join(lines) + "\n"


def _load(root: Path) -> object:
    try:
        config = load_config(root, {})
    except ConfigError as exc:
        return [str(p) for p in exc.problems]
    items = config.desired[("no", "contacts")]
    return [(k, r.attrs, str(r.origin)) for k, r in items.items()], [str(w) for w in config.warnings]


def check_a_big_file_loads_the_same_through_a_worker() -> None:
    """Same resources, origins and problems (with their positions) with and without the worker."""
    workers.FORK_MIN_BYTES = 100_000  # the files are ~2 MB
    forks: list[int] = []
    fork = workers._fork

    def counted(work, job):  # type: ignore[no-untyped-def]
        forks.append(1)
        return fork(work, job)

    workers._fork = counted  # type: ignore[assignment]
    from reconciler.config import prepare, validate

    prepared: list[bool] = []
    item = validate.Resources._item

    def noted(self, *args, **kwargs):  # type: ignore[no-untyped-def]
        prepared.append(len(args) > 6 and args[6] is not None)
        return item(self, *args, **kwargs)

    validate.Resources._item = noted  # type: ignore[method-assign]
    for bad_at in (None, 20_000):
        with tempfile.TemporaryDirectory() as tmp:
            root = Path(tmp)
            (root / "reconciler.yaml").write_text(
                "version: 1\naccounts:\n  no:\n    provider: intouch\n    region: 'NO'\n"
                "    credentials: {username: u, domain: d.example, password: p}\n",
                encoding="utf-8",
            )
            (root / "contacts.yaml").write_text(_contacts(30_000, bad_at), encoding="utf-8")
            before = len(forks)
            prepared.clear()
            through_worker = _load(root)
            assert len(forks) == before + 1
            share = int(30_000 * prepare.WORKER_SHARE)  # the later items: the worker did their own work
            assert share - 1 <= sum(prepared) <= share, sum(prepared)
            here = workers.can_fork
            workers.can_fork = lambda: False  # type: ignore[assignment]
            try:
                assert _load(root) == through_worker
            finally:
                workers.can_fork = here  # type: ignore[assignment]
            if bad_at is not None:
                assert any(f"contacts.yaml:{bad_at + 3}:" in line for line in through_worker)  # type: ignore[union-attr]
            else:
                warnings = through_worker[1]  # type: ignore[index]
                assert any("contacts.yaml:8:" in w and "landline" in w for w in warnings), warnings
                assert any("contacts.yaml:10:" in w and "Cyrillic" in w for w in warnings), warnings


CHECKS = [name for name in list(globals()) if name.startswith("check_")]


@pytest.mark.skipif(not workers.platform_forks(), reason="no fork here (one core, or not Linux/BSD)")
@pytest.mark.parametrize("check", CHECKS)
def test_in_a_fresh_interpreter(check: str) -> None:
    fresh(check)


def test_no_worker_while_another_thread_runs() -> None:
    release = threading.Event()
    thread = threading.Thread(target=release.wait, args=(10,))
    thread.start()
    try:
        assert not workers.can_fork()
        results = workers.run_all(whose, [1], big=lambda job: True)
        assert results[0][1] == os.getpid()
    finally:
        release.set()
        thread.join()


if __name__ == "__main__":
    globals()[sys.argv[1]]()
