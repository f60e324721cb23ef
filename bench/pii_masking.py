"""PII masking benchmark: the cost of masking a big plan, as a ratio to rendering it.

Builds a plan of N contact creates (number, two names, an e-mail address, a description) and
N/10 unmanaged-contact warnings, then times ``mask_plan`` and the Markdown renderer on it. Masking
walks the plan twice (learning names and numbers, then masking), so it should stay a small
multiple of rendering, and linear in N (compare the per-change times of two sizes).

    python bench/pii_masking.py [--changes N ...]
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from reconciler.changes import Action, Change  # noqa: E402
from reconciler.pii import Masker, mask_plan  # noqa: E402
from reconciler.plan import Plan, Warning_  # noqa: E402
from reconciler.render import render  # noqa: E402


def _plan(n: int) -> Plan:
    changes = tuple(
        Change(
            "se",
            "contacts",
            f"+4670{i:07d}",
            Action.CREATE,
            after={
                "mobile": f"+4670{i:07d}",
                "first_name": f"Name{i}",
                "last_name": "Svensson",
                "email": f"person{i}@example.se",
                "description": "Signed up at the spring fair",
            },
        )
        for i in range(n)
    )
    warnings = tuple(
        Warning_("se", "contacts", f"+4673{i:07d}", "unmanaged: exists live but is not declared")
        for i in range(n // 10)
    )
    return Plan(changes=changes, warnings=warnings)


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--changes", type=int, action="append", default=[], help="plan size (repeatable)")
    args = parser.parse_args()
    for n in args.changes or [10_000, 50_000]:
        plan = _plan(n)
        started = time.perf_counter()
        mask_plan(plan, Masker(b"k" * 32))
        masking = time.perf_counter() - started
        started = time.perf_counter()
        render(plan, "markdown")
        rendering = time.perf_counter() - started
        print(
            f"{n:>7} changes: mask {masking:.2f} s ({1e6 * masking / n:.0f} us/change), "
            f"markdown {rendering:.2f} s; mask/render = {masking / rendering:.2f}"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
