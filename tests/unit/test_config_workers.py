"""reconciler.config.workers: big files parse in forked workers, with the same result as here."""

from __future__ import annotations

import os
import threading
from pathlib import Path

import pytest

from reconciler.config import workers
from reconciler.config.load import load_config
from reconciler.errors import ConfigError

pytestmark = pytest.mark.skipif(not workers.can_fork(), reason="no fork here (one core, or not Linux/BSD)")


def whose(job: int) -> tuple[int, int]:
    return job * 2, os.getpid()


def test_big_jobs_run_in_a_worker_and_results_keep_their_order() -> None:
    results = workers.run_all(whose, [1, 2, 3], big=lambda job: job == 2)
    assert [value for value, _ in results] == [2, 4, 6]
    pids = [pid for _, pid in results]
    assert pids[1] != os.getpid() and pids[0] == pids[2] == os.getpid()


def test_started_runs_after_the_fork_and_before_the_work_here() -> None:
    order: list[str] = []

    def work(job: int) -> int:
        order.append(f"work {job}")
        return job

    started = lambda: order.append("started")  # noqa: E731
    assert workers.run_all(work, [1, 2], big=lambda job: job == 1, started=started) == [1, 2]
    assert order == ["started", "work 2"]  # job 1 ran in the worker, whose list is its own


def crash_in_worker(job: int) -> int:
    if os.getpid() != PARENT:
        os._exit(3)  # a worker that dies without answering
    return job + 1


def fail_in_worker(job: int) -> int:
    if os.getpid() != PARENT:
        raise MemoryError("no room")
    return job + 1


PARENT = os.getpid()  # the process that runs the tests: the workers' parent


@pytest.mark.parametrize("work", [crash_in_worker, fail_in_worker])
def test_a_worker_that_fails_leaves_the_job_to_the_parent(work: object) -> None:
    assert workers.run_all(work, [1, 2], big=lambda job: True) == [2, 3]  # type: ignore[arg-type]


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


def _repo(root: Path, contacts: str) -> Path:
    (root / "reconciler.yaml").write_text(
        "version: 1\naccounts:\n  no:\n    provider: intouch\n    region: 'NO'\n"
        "    credentials: {username: u, domain: d.example, password: p}\n",
        encoding="utf-8",
    )
    (root / "contacts.yaml").write_text(contacts, encoding="utf-8")
    return root


def _contacts(count: int, bad_at: int | None = None) -> str:
    lines = ["account: no", "contacts:"]
    for i in range(count):
        mobile = "not a number" if i == bad_at else f"+4790{i:06d}"
        lines.append(f'  - {{mobile: "{mobile}", first_name: "First {i}", last_name: Last}}')
    return "\n".join(lines) + "\n"


@pytest.mark.parametrize("bad_at", [None, 20_000])
def test_a_big_file_loads_the_same_through_a_worker(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, bad_at: int | None
) -> None:
    """Same resources, origins and problems (with their positions) with and without the worker."""
    repo = _repo(tmp_path, _contacts(30_000, bad_at))
    monkeypatch.setattr(workers, "FORK_MIN_BYTES", 100_000)  # the file is ~2 MB
    used: list[int] = []
    fork = workers._fork

    def counted(work, job):  # type: ignore[no-untyped-def]
        used.append(1)
        return fork(work, job)

    monkeypatch.setattr(workers, "_fork", counted)

    def load() -> object:
        try:
            config = load_config(repo, {})
        except ConfigError as exc:
            return [str(p) for p in exc.problems]
        items = config.desired[("no", "contacts")]
        return [(k, r.attrs, str(r.origin)) for k, r in items.items()]

    through_worker = load()
    assert used
    monkeypatch.setattr(workers, "can_fork", lambda: False)
    assert load() == through_worker
    if bad_at is not None:
        assert any(f"contacts.yaml:{bad_at + 3}:" in line for line in through_worker)  # type: ignore[union-attr]


def dated(job: int) -> tuple[int, object]:
    from datetime import datetime

    return job, datetime(2026, 12, 1, 8, 30)  # not plain data for marshal: the answer is pickled


def test_an_answer_marshal_cannot_write_comes_pickled() -> None:
    from datetime import datetime

    assert workers.run_all(dated, [1, 2], big=lambda job: job == 1) == [
        (1, datetime(2026, 12, 1, 8, 30)),
        (2, datetime(2026, 12, 1, 8, 30)),
    ]
