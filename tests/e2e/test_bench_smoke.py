"""The scale benchmark still runs end to end (small: 2,000 contacts); its timings are not judged."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

BENCH = Path(__file__).resolve().parents[2] / "bench" / "plan_scale.py"


def test_the_phases_run_beside_an_emulator_in_a_process_apart() -> None:
    """``--phases-of`` serves the live side from a forked, warmed emulator, measures each phase
    and stops that process: one JSON line of seconds. A process left behind would hold the
    output pipe open, and the run would time out here."""
    child = subprocess.run(
        [sys.executable, str(BENCH), "--phases-of", "2000"], capture_output=True, text=True, timeout=120
    )
    assert child.returncode == 0, child.stderr
    times = json.loads(child.stdout.strip().splitlines()[-1])
    assert set(times) == {"load", "refresh", "diff", "floor"}
    assert all(isinstance(seconds, float) and seconds > 0 for seconds in times.values())


def test_the_benchmark_prints_every_ratio_it_can_measure() -> None:
    """A whole small run: the CLI plan against the emulator (exit code 2, changes present), the
    latency run, the phases, and one line per goal; octoDNS is said to be skipped."""
    child = subprocess.run(
        [sys.executable, str(BENCH), "--contacts", "2000", "--repeat", "1", "--latency-ms", "5"],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert child.returncode == 0, child.stderr
    out = child.stdout
    for line in ["ours / floor", "peak RSS", "with latency / without", "octoDNS", "phases in process"]:
        assert line in out, out
    assert "not run: pass --octodns-python" in out
