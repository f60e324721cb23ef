"""Headless Chromium for the tests that open reports in a real browser.

:func:`find_or_install` returns the browser's path, installing the OS package (``apt-get install
chromium``, as root) when it is missing; it returns ``None`` with the reason when it cannot. The
test setup calls it (``make test`` runs ``python -m tests.browser`` first, and the ``chromium``
fixture calls it again), so a fresh CI machine gets the browser. Under ``CI=true`` a missing
browser is a failure, never a skip.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

from filelock import FileLock

NAMES = ("chromium", "chromium-browser", "google-chrome")
INSTALL_TIMEOUT = 900  # seconds: the package and its libraries are a few hundred MB
# Flags for a quiet, reproducible, offline headless run (each run gets a new empty profile).
FLAGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-dev-shm-usage",
    "--hide-scrollbars",
)


def find() -> str | None:
    for name in NAMES:
        path = shutil.which(name)
        if path:
            return path
    return None


def find_or_install() -> tuple[str | None, str]:
    """``(path, "")`` when a browser is there or could be installed, else ``(None, reason)``."""
    path = find()
    if path:
        return path, ""
    if not shutil.which("apt-get"):
        return None, "chromium is not installed and this system has no apt-get to install it"
    if os.geteuid() != 0:
        return None, "chromium is not installed and installing it needs root (apt-get install chromium)"
    env = dict(os.environ, DEBIAN_FRONTEND="noninteractive")
    # One installer at a time across pytest-xdist workers and parallel `make test` runs.
    with FileLock(os.path.join(tempfile.gettempdir(), "reconciler-chromium-install.lock")):
        path = find()
        if path:
            return path, ""
        for command in (["apt-get", "update", "-q"], ["apt-get", "install", "-y", "-q", "chromium"]):
            try:
                done = subprocess.run(
                    command, env=env, capture_output=True, text=True, timeout=INSTALL_TIMEOUT, check=False
                )
            except (OSError, subprocess.SubprocessError) as exc:
                return None, f"{' '.join(command)} failed: {exc}"
            if done.returncode != 0:
                tail = (done.stderr or done.stdout).strip().splitlines()[-1:] or ["no output"]
                return None, f"{' '.join(command)} exited {done.returncode}: {tail[0]}"
    path = find()
    return (path, "") if path else (None, "apt-get installed chromium but no browser binary was found")


def run(browser: str, profile: Path, *args: str, timeout: float = 90) -> subprocess.CompletedProcess[str]:
    """Run headless ``browser`` with the quiet flags, a new profile under ``profile`` and ``args``."""
    profile.mkdir(parents=True, exist_ok=True)
    command = [browser, *FLAGS, f"--user-data-dir={profile}", *args]
    return subprocess.run(command, capture_output=True, text=True, timeout=timeout, check=False)


if __name__ == "__main__":  # `make test` runs this before the suite
    found, why = find_or_install()
    print(f"chromium: {found}" if found else f"chromium: not available ({why})", file=sys.stderr)
