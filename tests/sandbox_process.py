"""`reconciler sandbox` as a separate process on free ports, and the environment that reaches it."""

from __future__ import annotations

import os
import select
import signal
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

# The variables the examples' reconciler.yaml files read, per provider and credential key.
ENV_NAMES = {
    "intouch": {"url": "INTOUCH_URL", "username": "INTOUCH_USER", "domain": "INTOUCH_DOMAIN",
                "password": "INTOUCH_PASSWORD"},
    "intime": {"url": "INTIME_URL", "user": "INTIME_USER", "hash": "INTIME_HASH"},
    "smsconnector": {"url": "SMSC_URL", "username": "SMSC_USER", "password": "SMSC_PASSWORD"},
}  # fmt: skip
CREDENTIAL_PREFIXES = ("INTOUCH_", "INTIME_", "SMSC_")


def clean_environment() -> dict[str, str]:
    """This process's environment without any provider variable (as a job without secrets has it)."""
    return {k: v for k, v in os.environ.items() if not k.startswith(CREDENTIAL_PREFIXES)}


@contextmanager
def sandbox(command: list[str], data: Path, env: dict[str, str] | None = None) -> Iterator[dict[str, str]]:
    """Run ``command sandbox`` on free loopback ports; yield the environment the examples need."""
    process = subprocess.Popen(
        [*command, "sandbox", "--port-base", "0", "--data", str(data)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env if env is not None else clean_environment(),
    )
    try:
        found: dict[str, str] = {}
        deadline = time.monotonic() + 60
        assert process.stdout is not None
        while len(found) < len(ENV_NAMES) * 2 and time.monotonic() < deadline:
            ready, _, _ = select.select([process.stdout], [], [], 1)
            if not ready:
                continue
            line = process.stdout.readline()
            if not line:
                break
            provider, url, creds = line.split(maxsplit=2)
            names = ENV_NAMES[provider]
            found[names["url"]] = url
            for pair in creds.strip("()\n ").split():
                key, _, value = pair.partition("=")
                found[names[key]] = value
        if not any(name.endswith("_URL") for name in found):
            stderr = process.stderr.read() if process.stderr else ""
            raise AssertionError(f"the sandbox did not start: {stderr}")
        yield found
    finally:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        for stream in (process.stdout, process.stderr):
            if stream is not None:
                stream.close()
