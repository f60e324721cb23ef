"""Per-account locks: eight applies on eight accounts side by side vs one apply, and vs eight in a row.

Serves N InTime emulators (each with a fixed per-request latency, as a real network has) and writes a
config repository of N accounts using the PostgreSQL state backend (or the file backend). Then
measures: one `reconciler apply --account A` alone; N applies for N different accounts started
together (each locks only its account); and N applies one after the other (what a single lock for
the whole state would force). Prints the times and ratios; asserts nothing.

    python bench/state_locks.py [--accounts 8] [--latency-ms 50] [--backend postgres|file] [--url URL]
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import textwrap
import time
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import psycopg  # noqa: E402

from reconciler.sandbox import emulator_class  # noqa: E402
from reconciler.sandbox.server import Server  # noqa: E402

RESOURCES = """\
    account: {name}
    groups:
      - name: Personal
      - name: Patienter
    contacts:
      - {{mobile: "070-123 45 67", first_name: Asa, groups: [Personal]}}
      - {{mobile: "0709876543", first_name: Anna, groups: [Patienter]}}
    reminders:
      - name: check-up
        appointment: 2030-01-12T08:30:00
        attendant: {{first_name: Anna, last_name: Lind, mobile: "0709876543"}}
    """


def build(root: Path, names: list[str], urls: list[str], state: str) -> None:
    accounts = "".join(
        f"  {name}:\n    provider: intime\n    url: {url}\n"
        '    credentials: {user: "${INTIME_USER}", hash: "${INTIME_HASH}"}\n'
        for name, url in zip(names, urls, strict=True)
    )
    (root / "reconciler.yaml").write_text(
        f"version: 1\ndefaults: {{region: SE}}\naccounts:\n{accounts}state: {state}\n", encoding="utf-8"
    )
    for name in names:
        (root / f"{name}.yaml").write_text(textwrap.dedent(RESOURCES).format(name=name), encoding="utf-8")


def applies(root: Path, names: list[str], env: dict[str, str], together: bool) -> float:
    started = time.perf_counter()
    command = [sys.executable, "-m", "reconciler.cli", "apply", ".", "--auto-approve", "--account"]
    if together:
        runs = [subprocess.Popen([*command, n], cwd=root, env=env, stdout=subprocess.DEVNULL) for n in names]
        codes = [run.wait() for run in runs]
    else:
        codes = [
            subprocess.run([*command, n], cwd=root, env=env, stdout=subprocess.DEVNULL).returncode
            for n in names
        ]
    if any(codes):
        raise SystemExit(f"an apply failed: exit codes {codes}")
    return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--accounts", type=int, default=8)
    parser.add_argument("--latency-ms", type=int, default=50)
    parser.add_argument("--backend", choices=("postgres", "file"), default="postgres")
    parser.add_argument(
        "--url",
        default=os.environ.get("RECONCILER_TEST_PG_URL") or "postgresql://postgres@127.0.0.1:5432/test",
    )
    args = parser.parse_args()
    cls, credentials = emulator_class("intime")
    schema = f"bench_{uuid.uuid4().hex[:8]}"
    env = {**os.environ, "INTIME_USER": credentials["user"], "INTIME_HASH": credentials["hash"]}
    env["RECONCILER_STATE_URL"], env["PYTHONPATH"] = args.url, str(ROOT)
    state = (
        f"{{backend: postgres, url: '${{RECONCILER_STATE_URL}}', schema: {schema}}}"
        if args.backend == "postgres"
        else "{path: .reconciler/state.json}"
    )
    results = {}
    for phase in ("one", "together", "in a row"):
        servers = [Server(cls(faults=f"latency:ms={args.latency_ms}")).start() for _ in range(args.accounts)]
        try:
            with tempfile.TemporaryDirectory() as tmp:
                names = [f"clinic{i + 1}" for i in range(args.accounts)]
                build(Path(tmp), names, [s.url + "/api/1.0" for s in servers], state)
                scope = names[:1] if phase == "one" else names
                results[phase] = applies(Path(tmp), scope, env, together=phase == "together")
                print(f"{phase:<10} {len(scope)} apply(s): {results[phase]:6.2f} s", flush=True)
        finally:
            for server in servers:
                server.stop()
        if args.backend == "postgres":
            with psycopg.connect(args.url, autocommit=True) as conn:
                conn.execute(
                    psycopg.sql.SQL("DROP SCHEMA IF EXISTS {} CASCADE").format(psycopg.sql.Identifier(schema))
                )
    print(f"{args.accounts} together / one alone:  {results['together'] / results['one']:5.2f}x")
    print(f"{args.accounts} in a row / together:    {results['in a row'] / results['together']:5.2f}x")


if __name__ == "__main__":
    main()
