"""Scale benchmark: `reconciler plan` at 100,000 contacts in 1,000 groups against the sandbox.

Builds a config repo of N contacts (default 100,000) in N/100 groups, seeds the Intouch emulator
with the same minus 1% drift (changed names, removed contacts, extra contacts), serves it over
loopback HTTP, and measures in one run:

- the floor: libyaml's CSafeLoader parsing the contacts file with gc off, plus a keyed dict diff;
- ``reconciler plan`` end to end through the CLI (a child process: start-up, load, refresh over
  HTTP, plan, render), its peak RSS, and how much of that time the emulator was busy;
- the same plan with ``latency:ms=20`` injected per request (``sandbox --faults latency``);
- the phases (load + validate, refresh, diff) in a process of their own (each size in a fresh
  one, its emulator warmed in a process apart, as for the CLI runs), and with ``--scaling``
  again at 3x N (then the best of three fresh processes per size), with the floor at each size
  for reference;
- octoDNS planning N records YAML -> YAML, with ``--octodns-python PATH``.

Prints times and the ratios the goals are stated in; asserts nothing about time.

    python bench/plan_scale.py [--contacts N] [--latency-ms MS] [--scaling] [--octodns-python PATH]
"""

from __future__ import annotations

import argparse
import functools
import json
import os
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import octodns_compare  # noqa: E402
import scale_setup  # noqa: E402

from reconciler.config.load import load_config  # noqa: E402
from reconciler.engine import Run  # noqa: E402
from reconciler.gcpause import gc_paused  # noqa: E402
from reconciler.planner import diff  # noqa: E402
from reconciler.sandbox.intouch.emulator import SANDBOX_CREDENTIALS, IntouchEmulator  # noqa: E402
from reconciler.sandbox.server import Faults, Server  # noqa: E402
from reconciler.state import State  # noqa: E402

# The child reports its own peak RSS (VmHWM of its address space) when it exits: the ru_maxrss of
# wait4 would include this process's RSS at fork time, which exec does not reset on Linux.
CHILD = """
import atexit, sys
def peak():
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith("VmHWM:"):
                sys.stderr.write("PEAK_RSS_KB " + line.split()[1] + "\\n")
atexit.register(peak)
from reconciler.cli import main
main()
"""
CLI = [sys.executable, "-c", CHILD]


class Sandbox:
    """A config repo of N contacts and the Intouch emulator serving the 1%-off live side.

    With ``apart``, the emulator is built, seeded and warmed (one read of every list) in a
    process forked before anything else, and serves from there: the measuring process then
    holds nothing but what it measures, as a CLI run does, and the emulator's own work
    (encoding 300,000 contacts, cold) neither counts as the refresh's nor competes with it for
    the interpreter.
    """

    def __init__(self, root: Path, contacts: int, apart: bool = False) -> None:
        self.contacts, self.groups = contacts, max(1, contacts // 100)
        self._child: int | None = None
        if apart:
            self._child, url = _serve_apart(root, contacts, self.groups)
        else:
            self.emulator = IntouchEmulator(str(root / "live.db"))
            self.timed = scale_setup.Timed(self.emulator)
            self.server = Server(self.timed).start()
            url = self.server.url
            self.rows, members, self.drift = scale_setup.live_rows(contacts, self.groups)
            scale_setup.seed(self.emulator, self.groups, self.rows, members)
        self.repo = root / "repo"
        self.repo.mkdir()
        self.contacts_file = scale_setup.build_repo(self.repo, contacts, self.groups, url + "/2")

    @functools.cached_property
    def rows(self) -> list[scale_setup.Row]:
        """The live contacts, as the floor diffs them (the seed's, made again when apart)."""
        return scale_setup.live_rows(self.contacts, self.groups)[0]

    def close(self) -> None:
        if self._child is not None:
            os.kill(self._child, signal.SIGTERM)
            os.waitpid(self._child, 0)
            return
        self.server.stop()
        self.emulator.db.close()


def _serve_apart(root: Path, contacts: int, groups: int) -> tuple[int, str]:
    """Fork a process that seeds, warms and serves the emulator; its pid and URL."""
    ready, told = os.pipe()
    pid = os.fork()
    if pid == 0:  # the emulator's process: serve until killed
        try:
            os.close(ready)
            emulator = IntouchEmulator(str(root / "live.db"))
            server = Server(emulator).start()
            rows, members, _ = scale_setup.live_rows(contacts, groups)
            scale_setup.seed(emulator, groups, rows, members)
            del rows, members
            scale_setup.warm(server.url + "/2", SANDBOX_CREDENTIALS)
            os.write(told, server.url.encode())
            signal.pause()
        finally:
            os._exit(0)
    os.close(told)
    url = os.read(ready, 100).decode()
    os.close(ready)
    if not url:
        sys.exit("the emulator's process failed before serving")
    return pid, url


def cli_plan(sandbox: Sandbox, faults: str = "") -> tuple[float, float, float, int]:
    """Run ``reconciler plan`` in a child process: (seconds, peak RSS MiB, emulator busy s, requests)."""
    sandbox.emulator.faults = Faults.parse(faults)
    sandbox.timed.reset()
    started = time.perf_counter()
    child = subprocess.Popen(
        [*CLI, "plan", str(sandbox.repo)], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE
    )
    _, errors = child.communicate()
    elapsed = time.perf_counter() - started
    text = errors.decode(errors="replace")
    if child.returncode != 2:
        sys.exit(f"reconciler plan exited {child.returncode}:\n{text}")
    peaks = [int(line.split()[1]) for line in text.splitlines() if line.startswith("PEAK_RSS_KB ")]
    sandbox.emulator.faults = Faults.parse("")
    return elapsed, (peaks[-1] / 1024 if peaks else float("nan")), sandbox.timed.busy, sandbox.timed.requests


def phases(sandbox: Sandbox, state_dir: Path) -> dict[str, float]:
    """Seconds of load + validate, refresh and diff, in this process, as the CLI runs them."""
    out: dict[str, float] = {}
    started = time.perf_counter()
    config = load_config(sandbox.repo)
    out["load"] = time.perf_counter() - started
    run = Run(config, State(state_dir / "state.json"))
    try:
        started = time.perf_counter()
        live = run.refresh()
        out["refresh"] = time.perf_counter() - started
        started = time.perf_counter()
        with gc_paused():  # as Run.plan does
            diff(config.desired, live, {"big": {}}, run.targets(), run.now())
        out["diff"] = time.perf_counter() - started
    finally:
        run.close()
    return out


def phases_apart(contacts: int, repeat: int = 1) -> dict[str, float]:
    """:func:`phases` at ``contacts`` in a fresh process (its own sandbox), so that one size's
    measurement does not run in the heap another size's run left behind; with ``repeat``, the
    best time of each phase over that many fresh processes. ``floor`` is the floor's time at
    that size, measured after the phases in the same process."""
    best: dict[str, float] = {}
    for _ in range(repeat):
        child = subprocess.run(
            [sys.executable, __file__, "--phases-of", str(contacts)], capture_output=True, text=True
        )
        if child.returncode != 0:
            sys.exit(f"the phases run at {contacts:,} failed:\n{child.stderr}")
        times: dict[str, float] = json.loads(child.stdout.strip().splitlines()[-1])
        best = {phase: min(seconds, best.get(phase, seconds)) for phase, seconds in times.items()}
    return best


def verdict(ratio: float, goal: float, higher: bool = False) -> str:
    met = ratio >= goal if higher else ratio <= goal
    return f"goal {'>=' if higher else '<='} {goal:g}: {'met' if met else 'NOT met'}"


def report_plan(sandbox: Sandbox, repeat: int, latency_ms: int) -> dict[str, Any]:
    floor = min(scale_setup.floor(sandbox.contacts_file, sandbox.rows)[0] for _ in range(3))
    print(f"floor (CSafeLoader, gc off, keyed dict diff)  {floor:7.2f} s   (best of 3)")
    runs = [cli_plan(sandbox) for _ in range(repeat)]
    for n, (seconds, rss, busy, requests) in enumerate(runs, 1):
        print(
            f"reconciler plan (CLI) run {n}                  {seconds:7.2f} s   peak RSS {rss:6.0f} MiB   "
            f"{requests:,} requests; emulator busy {busy:5.2f} s ({busy / seconds:4.0%} of the run)"
        )
    ours, rss, _, _ = min(runs)
    result = {"floor": floor, "ours": ours, "rss": max(r[1] for r in runs)}
    if latency_ms:
        slow, _, _, _ = cli_plan(sandbox, f"latency:ms={latency_ms}")
        print(f"reconciler plan, {latency_ms} ms per request        {slow:7.2f} s")
        result["latency"] = slow
    return result


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--contacts", type=int, default=100_000)
    parser.add_argument(
        "--repeat", type=int, default=3, help="CLI plan runs; the best counts (default 3: the first is cold)"
    )
    parser.add_argument(
        "--latency-ms", type=int, default=20, help="latency per request of the slow run (0: skip)"
    )
    parser.add_argument("--scaling", action="store_true", help="also measure the phases at 3x --contacts")
    parser.add_argument("--octodns-python", metavar="PATH", help="an interpreter that can import octodns")
    parser.add_argument("--phases-of", type=int, metavar="N", help=argparse.SUPPRESS)  # see phases_apart
    args = parser.parse_args()
    os.environ["BENCH_PASSWORD"] = SANDBOX_CREDENTIALS["password"]
    if args.phases_of:
        with tempfile.TemporaryDirectory() as tmp:
            sandbox = Sandbox(Path(tmp), args.phases_of, apart=True)
            try:
                times = phases(sandbox, Path(tmp))
                times["floor"] = scale_setup.floor(sandbox.contacts_file, sandbox.rows)[0]
                print(json.dumps(times))
            finally:
                sandbox.close()
        return
    with tempfile.TemporaryDirectory() as tmp:
        (Path(tmp) / "n").mkdir()
        sandbox = Sandbox(Path(tmp) / "n", args.contacts)
        print(f"{args.contacts:,} contacts in {sandbox.groups:,} groups; live drift: {sandbox.drift}")
        try:
            result = report_plan(sandbox, args.repeat, args.latency_ms)
        finally:
            sandbox.close()
        repeat = 3 if args.scaling else 1
        times = phases_apart(args.contacts, repeat)
        best = f" (best of {repeat} processes each)" if args.scaling else ""
        print(f"phases in process{best}   " + "   ".join(f"{k} {v:6.2f} s" for k, v in times.items()))
        big_times = None
        if args.scaling:
            big_times = phases_apart(3 * args.contacts, repeat)
            print(
                f"phases at {3 * args.contacts:,}       "
                + "   ".join(f"{k} {v:6.2f} s" for k, v in big_times.items())
            )
        octo_seconds = None
        version = octodns_compare.available(args.octodns_python)
        if version:
            octo_seconds = octodns_compare.plan_seconds(
                args.octodns_python, Path(tmp) / "octodns", args.contacts
            )
            print(f"octoDNS {version} plan, {args.contacts:,} records YAML -> YAML   {octo_seconds:7.2f} s")
    print()
    ratio = result["ours"] / result["floor"]
    print(f"ours / floor                 : {ratio:6.2f}x   {verdict(ratio, 2.0)}")
    megabytes = result["rss"] * 1024 * 1024 / 1e6  # the goal is in MB (10^6 bytes), the report in MiB
    shown = f"{megabytes:6.0f} MB ({result['rss']:.0f} MiB)"
    print(f"peak RSS                     : {shown}  {verdict(megabytes, 400)}")
    if octo_seconds is not None:
        ratio = octo_seconds / result["ours"]
        print(f"octoDNS / ours               : {ratio:6.2f}x   {verdict(ratio, 10, higher=True)}")
    if "latency" in result:
        ratio = result["latency"] / result["ours"]
        print(f"with latency / without       : {ratio:6.2f}x   {verdict(ratio, 1.5)}")
    if big_times is not None:
        for phase, seconds in times.items():
            ratio = big_times[phase] / seconds
            if phase == "floor":  # the same machine's memory at 3x the data, for reference
                print(f"{'floor 3N / N':<29}: {ratio:6.2f}x   (reference: the floor's own scaling, no goal)")
            else:
                print(f"{phase + ' 3N / N':<29}: {ratio:6.2f}x   {verdict(ratio, 3.3)}")


if __name__ == "__main__":
    main()
