"""Suite-wide settings: retries never sleep, and no test reaches beyond loopback."""

from __future__ import annotations

import pytest


@pytest.fixture(autouse=True)
def _fast_retries(monkeypatch: pytest.MonkeyPatch) -> None:
    """Retries use zero backoff so throttling tests don't sleep."""
    monkeypatch.setenv("RECONCILER_RETRY_SCALE", "0")
