"""The drift history: one JSON line per audit (``reconciler drift --history FILE``).

Each line is one run::

    {"format_version": 1, "time": "2026-11-30T07:00:00Z", "revision": "3f2a9c1d0b7e",
     "cells": {"oslo/contacts": {"status": "drifted", "changed": 1, "missing": 0, "extra": 0,
                                 "unmanaged": 2}, ...},
     "alerted": ["oslo/contacts"]}

``alerted`` is the set of account/types that were failing when a notification last went out
(carried forward unchanged by runs that did not notify), so ``--notify`` posts only when that set
changes and retries a notification that could not be delivered. The file holds counts and names
of accounts and types only, never item keys or values (no personal data).

Lines that cannot be read (a torn last line after a crash, an edit gone wrong) are skipped with a
warning naming ``file:line``; the history is a convenience and never hides the audit's result.
"""

from __future__ import annotations

import json
import os
from collections.abc import Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from reconciler.drift.model import KINDS, DriftReport, Status
from reconciler.errors import ReconcilerError

FORMAT_VERSION = 1
TREND_RUNS = 10  # runs shown in the trend, the current one included


@dataclass(frozen=True)
class Run:
    """One line of the history."""

    time: str
    revision: str
    cells: dict[str, dict[str, Any]]
    alerted: frozenset[str] | None = None  # None: never notified

    def to_json(self) -> dict[str, Any]:
        data: dict[str, Any] = {
            "format_version": FORMAT_VERSION,
            "time": self.time,
            "revision": self.revision,
            "cells": self.cells,
        }
        if self.alerted is not None:
            data["alerted"] = sorted(self.alerted)
        return data


def run_of(report: DriftReport, alerted: frozenset[str] | None) -> Run:
    """The history line of ``report``."""
    cells = {
        c.name: {"status": c.status.value, **{k.value: c.counts.get(k.value, 0) for k in KINDS}}
        for c in report.cells
    }
    return Run(report.checked_at, report.revision, cells, alerted)


def _parse(data: Any) -> Run | None:
    if not isinstance(data, dict) or not isinstance(data.get("time"), str):
        return None
    cells = data.get("cells")
    if not isinstance(cells, dict) or not all(
        isinstance(k, str) and isinstance(v, dict) and v.get("status") in set(Status)
        for k, v in cells.items()
    ):
        return None
    alerted = data.get("alerted")
    if alerted is not None and not (isinstance(alerted, list) and all(isinstance(a, str) for a in alerted)):
        return None
    revision = data.get("revision")
    return Run(
        data["time"],
        revision if isinstance(revision, str) else "",
        cells,
        frozenset(alerted) if alerted is not None else None,
    )


def read_history(path: Path) -> tuple[list[Run], list[str]]:
    """The runs in ``path`` (oldest first) and a warning per line that could not be read.

    A missing file is an empty history. Raises ReconcilerError when the file cannot be read at all.
    """
    if path.exists() and not path.is_file():
        raise ReconcilerError(f"{path}: the drift history must be a regular file; give a file path")
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        return [], []
    except OSError as exc:
        raise ReconcilerError(f"{path}: cannot read the drift history ({exc.strerror or exc})") from None
    runs: list[Run] = []
    warnings: list[str] = []
    for number, line in enumerate(raw.split(b"\n"), start=1):
        if not line.strip():
            continue
        try:
            run = _parse(json.loads(line.decode("utf-8")))
        except (UnicodeDecodeError, ValueError):
            run = None
        if run is None:
            warnings.append(
                f"{path}:{number}: not a drift history record; the line is ignored "
                "(delete it to silence this warning)"
            )
            continue
        runs.append(run)
    return runs, warnings


def append_run(path: Path, run: Run) -> None:
    """Append ``run`` as one line with a single ``O_APPEND`` write (concurrent runs never interleave
    within a line), flushed to disk. Raises ReconcilerError when the file cannot be written."""
    line = json.dumps(run.to_json(), sort_keys=True, separators=(",", ":"), ensure_ascii=False) + "\n"
    data = line.encode("utf-8")
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(path, os.O_RDWR | os.O_APPEND | os.O_CREAT, 0o644)
        try:
            size = os.fstat(fd).st_size
            if size and os.pread(fd, 1, size - 1) != b"\n":
                data = b"\n" + data  # a torn last line stays on its own line
            os.write(fd, data)
            os.fsync(fd)
        finally:
            os.close(fd)
    except OSError as exc:
        raise ReconcilerError(f"{path}: cannot write the drift history ({exc.strerror or exc})") from None


def _drifted(run: Run, name: str) -> bool | None:
    """Whether ``name`` was drifted in ``run``; None when that run could not tell (failed, absent)."""
    cell = run.cells.get(name)
    if cell is None or cell.get("status") in (Status.FAILED, Status.NOT_AUDITABLE):
        return None
    return bool(cell.get("status") == Status.DRIFTED)


def _count(run: Run, name: str) -> int | None:
    cell = run.cells.get(name)
    if cell is None or _drifted(run, name) is None:
        return None
    total = 0
    for kind in KINDS:
        value = cell.get(kind.value, 0)
        total += value if isinstance(value, int) and value >= 0 else 0
    return total


def with_history(report: DriftReport, runs: Sequence[Run]) -> DriftReport:
    """``report`` with ``since`` and ``trend`` of every cell, from ``runs`` (the current run last).

    ``since`` is the time of the first run of the current unbroken drift of a drifted cell (runs
    that could not tell, such as failed reads, neither break nor start it). ``trend`` holds the
    drifted item counts of the last :data:`TREND_RUNS` runs.
    """
    cells = []
    for cell in report.cells:
        since = ""
        if cell.status is Status.DRIFTED:
            for run in reversed(runs):
                state = _drifted(run, cell.name)
                if state is False:
                    break
                if state:
                    since = run.time
        trend = tuple(_count(run, cell.name) for run in runs[-TREND_RUNS:])
        cells.append(replace(cell, since=since, trend=trend))
    return replace(report, cells=tuple(cells))


def last_alerted(runs: Sequence[Run]) -> frozenset[str] | None:
    """The failing cells told about by the last notification that went out (None: never notified)."""
    for run in reversed(runs):
        if run.alerted is not None:
            return run.alerted
    return None
