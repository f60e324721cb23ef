"""Scale benchmark: load+validate, refresh and plan for 100,000 contacts in 1,000 groups.

Builds a config repo of N contacts (default 100,000) in G groups (default 1,000), seeds the Intouch
emulator with the same minus 1% drift (changed names, removed contacts, extra contacts), then measures
time (untraced) and peak Python memory (a second, tracemalloc-traced run) of each phase, and the
same diff done naively with DeepDiff
over the two whole states, in the same run. Prints ratios; asserts nothing about time.

    python bench/plan_scale.py [--contacts N] [--groups G] [--naive-limit N]
"""

from __future__ import annotations

import argparse
import os
import random
import sys
import tempfile
import time
import tracemalloc
from collections.abc import Callable
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from deepdiff import DeepDiff  # noqa: E402

from reconciler.config.load import load_config  # noqa: E402
from reconciler.engine import Run  # noqa: E402
from reconciler.planner import diff  # noqa: E402
from reconciler.sandbox.intouch.emulator import SANDBOX_CREDENTIALS, IntouchEmulator  # noqa: E402
from reconciler.sandbox.server import Server  # noqa: E402
from reconciler.state import State  # noqa: E402


def measure(label: str, fn: Callable[[], Any]) -> tuple[Any, float, float]:
    """Time ``fn`` untraced, then run it again under tracemalloc for its peak memory."""
    started = time.perf_counter()
    result = fn()
    elapsed = time.perf_counter() - started
    del result
    tracemalloc.start()
    result = fn()
    peak = tracemalloc.get_traced_memory()[1] / 2**20
    tracemalloc.stop()
    print(f"{label:<30} {elapsed:8.2f} s   peak {peak:8.1f} MiB", flush=True)
    return result, elapsed, peak


def number(i: int) -> str:
    return f"+4790{i:06d}"


def build_repo(root: Path, contacts: int, groups: int, url: str) -> None:
    (root / "reconciler.yaml").write_text(
        'version: 1\ndefaults: {region: "NO"}\naccounts:\n  big:\n    provider: intouch\n'
        f"    url: {url}\n"
        '    credentials: {username: demo, domain: example.com, password: "${BENCH_PASSWORD}"}\n',
        encoding="utf-8",
    )
    with open(root / "groups.yaml", "w", encoding="utf-8") as out:
        out.write("account: big\ngroups:\n")
        for g in range(groups):
            out.write(f"  - name: Group {g:04d}\n")
    with open(root / "contacts.yaml", "w", encoding="utf-8") as out:
        out.write("account: big\ncontacts:\n")
        for i in range(contacts):
            out.write(
                f'  - mobile: "{number(i)}"\n    first_name: First{i}\n    last_name: Last{i}\n'
                f"    groups: [Group {i % groups:04d}]\n"
            )


def seed(emulator: IntouchEmulator, contacts: int, groups: int, rng: random.Random) -> dict[str, int]:
    drift = max(3, contacts // 100)
    changed = set(rng.sample(range(contacts), drift // 3))
    removed = set(rng.sample(sorted(set(range(contacts)) - changed), drift // 3))
    extra = range(contacts, contacts + drift - 2 * (drift // 3))
    rows, members = [], []
    for i in [*range(contacts), *extra]:
        if i in removed:
            continue
        first = f"Changed{i}" if i in changed else f"First{i}"
        rows.append({"PhoneNumber": number(i)[1:], "Firstname": first, "Lastname": f"Last{i}"})
        members.append((f"Group {i % groups:04d}", number(i)[1:]))
    emulator.bulk_load([f"Group {g:04d}" for g in range(groups)], rows, members)
    return {"changed": len(changed), "removed": len(removed), "extra": len(extra)}


def whole_state(items: Any) -> dict[str, Any]:
    """The account as one nested dict (contacts carry their groups), the shape a naive diff compares."""
    groups_of: dict[str, list[str]] = {}
    for member in items.get(("big", "memberships"), {}).values():
        groups_of.setdefault(member.attrs["contact"], []).append(member.attrs["group"])
    out: dict[str, Any] = {"groups": {k: dict(r.attrs) for k, r in items.get(("big", "groups"), {}).items()}}
    contacts = {}
    for key, resource in items.get(("big", "contacts"), {}).items():
        attrs = dict(resource.attrs)
        if key in groups_of:
            attrs["groups"] = sorted(groups_of[key])
        contacts[key] = attrs
    out["contacts"] = contacts
    return out


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--contacts", type=int, default=100_000)
    parser.add_argument("--groups", type=int, default=1_000)
    args = parser.parse_args()
    os.environ["BENCH_PASSWORD"] = SANDBOX_CREDENTIALS["password"]
    rng = random.Random(42)
    with tempfile.TemporaryDirectory() as tmp:
        emulator = IntouchEmulator(str(Path(tmp) / "bench.db"))
        with Server(emulator) as server:
            root = Path(tmp) / "repo"
            root.mkdir()
            build_repo(root, args.contacts, args.groups, server.url + "/2")
            drift = seed(emulator, args.contacts, args.groups, rng)
            print(f"{args.contacts:,} contacts in {args.groups:,} groups; live drift: {drift}")
            config, t_load, m_load = measure("load + validate", lambda: load_config(root))
            run = Run(config, State(Path(tmp) / "state.json"))
            emulator.reset_counts()
            live, t_refresh, m_refresh = measure("refresh (HTTP)", lambda: run.refresh())
            print(f"{'':30} {emulator.count() // 2:,} requests per refresh")
            targets = run.targets()
            plan, t_plan, m_plan = measure(
                "plan (keyed dicts)", lambda: diff(config.desired, live, {"big": {}}, targets, run.now())
            )
            run.close()
            print(f"{'':30} {plan.summary}")

            desired_state = whole_state(config.desired)
            live_state = whole_state(live)
            naive, t_naive, m_naive = measure(
                "naive DeepDiff (whole states)", lambda: DeepDiff(live_state, desired_state, view="tree")
            )
            print(f"{'':30} {sum(len(v) for v in naive.values()):,} differences reported")
    print()
    print(f"ratio naive/plan time   : {t_naive / max(t_plan, 1e-9):8.1f}x")
    print(f"ratio naive/plan memory : {m_naive / max(m_plan, 1e-9):8.1f}x")
    print(f"load+refresh+plan total : {t_load + t_refresh + t_plan:8.2f} s")


if __name__ == "__main__":
    main()
