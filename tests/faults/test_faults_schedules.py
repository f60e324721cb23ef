"""Property test: seeded random fault schedules never lose a change nor duplicate an item.

Each schedule applies a small config to a fresh emulator injecting throttles, 500s, dropped
connections and commit-then-500 on POSTs (seeded, reproducible: rerun one with
``bench/fault_schedules.py --provider P --seed N``), reruns once without faults if the first
apply did not fully succeed, and checks the emulator's data and a final plan.
"""

from __future__ import annotations

from collections import Counter

import pytest

from tests.faults.schedules import PROVIDERS, Harness, random_spec

SEEDS = 200  # per provider, in CI; bench/fault_schedules.py runs more


@pytest.mark.parametrize("seed", range(SEEDS))
@pytest.mark.parametrize("provider", PROVIDERS)
def test_schedule_converges_without_duplicates(harness: Harness, provider: str, seed: int) -> None:
    """After apply under the seed's faults (and at most one clean rerun) the account matches the config."""
    report = harness.run_schedule(provider, seed)
    assert not report.problems, report.describe()


def test_schedules_mix_every_fault_kind() -> None:
    """The generated specs mix throttles, 500s, drops and commit-then-500 in many combinations."""
    specs = [random_spec(seed) for seed in range(SEEDS)]
    kinds = Counter(rule.split(":")[0] for spec in specs for rule in spec.split(",")[1:])
    assert all(kinds[kind] >= SEEDS // 4 for kind in ("throttle", "error", "drop", "commit-then-error")), (
        kinds
    )
    assert kinds["latency"] > 0
    assert len(set(specs)) > SEEDS * 0.9
    assert all(len(spec.split(",")) >= 2 for spec in specs)
