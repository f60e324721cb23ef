"""Small helpers shared by test modules (fixtures live in conftest.py files)."""

from __future__ import annotations

from datetime import UTC, datetime

START = datetime(2026, 11, 22, 10, 0, tzinfo=UTC).timestamp()


class FakeClock:
    """A settable epoch clock for emulators and providers: tests move time instead of sleeping."""

    def __init__(self, now: float = START) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds

    def datetime(self) -> datetime:
        return datetime.fromtimestamp(self.now, UTC)
