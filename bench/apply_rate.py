"""Apply at the rate limit: a 1,000-change apply against an emulator allowing R requests a minute.

The account sets no ``rate_limit``: the client's adaptive limiter must find the provider's limit
(back off on a throttle, probe upwards again) and the apply must end without a "throttled"
failure. To keep the run short, time is scaled: the emulator's throttle window, the client's
limiter and its retry delays all run ``--speedup`` times faster than the wall clock (a minute of
the provider's window passes in 60/speedup seconds). Prints the achieved rate as a share of R.

    python bench/apply_rate.py [--changes N] [--rpm R] [--speedup K]
"""

from __future__ import annotations

import argparse
import contextlib
import io
import os
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import reconciler.http  # noqa: E402
from reconciler.cli import main as cli  # noqa: E402
from reconciler.sandbox.intouch.emulator import SANDBOX_CREDENTIALS, IntouchEmulator  # noqa: E402
from reconciler.sandbox.server import Server  # noqa: E402


class ScaledClock:
    """Epoch seconds running ``speedup`` times faster than the wall clock."""

    def __init__(self, speedup: float) -> None:
        self.speedup = speedup
        self.origin = time.time()
        self.started = time.monotonic()

    def __call__(self) -> float:
        return self.origin + (time.monotonic() - self.started) * self.speedup

    def sleep(self, seconds: float) -> None:
        time.sleep(seconds / self.speedup)


class Statuses:
    """WSGI middleware counting answers by status, and the (scaled) time of the first and last."""

    def __init__(self, app: Callable[..., Any], clock: ScaledClock) -> None:
        self.app = app
        self.clock = clock
        self.counts: Counter[int] = Counter()
        self.first = self.last = 0.0

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Any:
        def counting(status: str, headers: list[tuple[str, str]], *rest: Any) -> Any:
            self.counts[int(status.split()[0])] += 1
            self.last = self.clock()
            self.first = self.first or self.last
            return start_response(status, headers, *rest)

        return self.app(environ, counting)


def write_repo(root: Path, url: str, changes: int) -> None:
    (root / "reconciler.yaml").write_text(
        'version: 1\ndefaults: {region: "NO"}\naccounts:\n  big:\n    provider: intouch\n'
        f"    url: {url}\n"
        '    credentials: {username: demo, domain: example.com, password: "${BENCH_PASSWORD}"}\n'
        "safety: {max_update_percent: 100, max_delete_percent: 100}\n",
        encoding="utf-8",
    )
    rows = [f'  - {{mobile: "+4790{i:06d}", first_name: Person{i}}}' for i in range(changes)]
    (root / "contacts.yaml").write_text(
        "account: big\ncontacts:\n" + "\n".join(rows) + "\n", encoding="utf-8"
    )


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--changes", type=int, default=1000)
    parser.add_argument("--rpm", type=int, default=120, help="requests per minute the emulator allows")
    parser.add_argument("--speedup", type=float, default=6.0, help="how much faster than real time")
    args = parser.parse_args()
    clock = ScaledClock(args.speedup)

    class ScaledLimiter(reconciler.http.RateLimiter):
        def __init__(self, per_minute: int | None, **_: Any) -> None:
            super().__init__(per_minute, clock=clock, sleep=clock.sleep)

    reconciler.http.RateLimiter = ScaledLimiter  # type: ignore[misc]
    os.environ["RECONCILER_RETRY_SCALE"] = str(1 / args.speedup)
    os.environ["BENCH_PASSWORD"] = SANDBOX_CREDENTIALS["password"]
    with tempfile.TemporaryDirectory() as tmp:
        emulator = IntouchEmulator(str(Path(tmp) / "live.db"), rpm_limit=args.rpm, clock=clock)
        statuses = Statuses(emulator, clock)
        with Server(statuses) as server:
            root = Path(tmp) / "repo"
            root.mkdir()
            write_repo(root, server.url + "/2", args.changes)
            wall = time.monotonic()
            try:
                with contextlib.redirect_stdout(io.StringIO()):
                    cli(["apply", str(root), "--auto-approve"], standalone_mode=False)
                code = 0
            except SystemExit as exc:
                code = int(exc.code or 0)
            wall = time.monotonic() - wall
            elapsed = statuses.last - statuses.first  # from the first answer to the last
            created = len(emulator.contacts())
    accepted = sum(n for status, n in statuses.counts.items() if status < 500)
    throttled = statuses.counts[503]
    achieved = accepted / elapsed * 60
    print(
        f"{args.changes:,} creates against {args.rpm}/min (time x{args.speedup:g}): exit {code}, "
        f"{created:,} created, {accepted:,} requests accepted, {throttled} throttled"
    )
    print(
        f"first to last answer: {elapsed:7.1f} s scaled ({wall:.1f} s wall for the whole command); "
        f"achieved {achieved:6.1f} requests/minute"
    )
    ratio = achieved / args.rpm
    print(
        f"achieved / limit             : {ratio:6.2f}    goal >= 0.9: {'met' if ratio >= 0.9 else 'NOT met'}"
    )


if __name__ == "__main__":
    main()
