"""The data of the scale benchmark: a config repo of N contacts, the live side 1% off, the floor.

Used by ``bench/plan_scale.py``. The floor is what any tool must at least do to plan the same
contacts file: libyaml's ``CSafeLoader`` parsing it with the garbage collector off, plus a keyed
dict diff of the parsed contacts against the live rows (no HTTP, no number checks).
"""

from __future__ import annotations

import gc
import random
import threading
import time
from collections.abc import Callable, Iterable, Mapping
from pathlib import Path
from typing import Any

import yaml

from reconciler.sandbox.intouch.emulator import IntouchEmulator

Row = dict[str, str]
Members = list[tuple[str, str]]


def number(i: int) -> str:
    """The mobile number of contact ``i``, in E.164."""
    return f"+4790{i:06d}"


def build_repo(root: Path, contacts: int, groups: int, url: str) -> Path:
    """Write reconciler.yaml, groups.yaml and contacts.yaml under ``root``; return contacts.yaml."""
    (root / "reconciler.yaml").write_text(
        'version: 1\ndefaults: {region: "NO"}\naccounts:\n  big:\n    provider: intouch\n'
        f"    url: {url}\n"
        # The contact list of 300,000 contacts is ~80 MB, over the default 64 MiB answer cap.
        f"    max_response_bytes: {max(64, contacts // 1000) * 1024 * 1024}\n"
        '    credentials: {username: demo, domain: example.com, password: "${BENCH_PASSWORD}"}\n',
        encoding="utf-8",
    )
    with open(root / "groups.yaml", "w", encoding="utf-8") as out:
        out.write("account: big\ngroups:\n")
        for g in range(groups):
            out.write(f"  - name: Group {g:04d}\n")
    path = root / "contacts.yaml"
    with open(path, "w", encoding="utf-8") as out:
        out.write("account: big\ncontacts:\n")
        for i in range(contacts):
            out.write(
                f'  - mobile: "{number(i)}"\n    first_name: First{i}\n    last_name: Last{i}\n'
                f"    groups: [Group {i % groups:04d}]\n"
            )
    return path


def live_rows(contacts: int, groups: int, seed: int = 42) -> tuple[list[Row], Members, dict[str, int]]:
    """The live side: the same contacts 1% off (changed names, removed and extra contacts)."""
    rng = random.Random(seed)
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
    return rows, members, {"changed": len(changed), "removed": len(removed), "extra": len(extra)}


def seed(emulator: IntouchEmulator, groups: int, rows: list[Row], members: Members) -> None:
    emulator.bulk_load([f"Group {g:04d}" for g in range(groups)], rows, members)


def floor(contacts_file: Path, rows: Iterable[Row]) -> tuple[float, int]:
    """Seconds to parse ``contacts_file`` (CSafeLoader, gc off) and diff it by key against ``rows``.

    Returns the time and the number of differences found (created, deleted or changed contacts).
    """
    enabled = gc.isenabled()
    gc.disable()
    try:
        started = time.perf_counter()
        with open(contacts_file, "rb") as handle:
            data = yaml.load(handle, Loader=yaml.CSafeLoader)
        desired = {c["mobile"]: c for c in data["contacts"]}
        live = {"+" + r["PhoneNumber"]: r for r in rows}
        differences = len(desired.keys() ^ live.keys())
        for key, want in desired.items():
            have = live.get(key)
            if have is not None and (
                have["Firstname"] != want["first_name"] or have["Lastname"] != want["last_name"]
            ):
                differences += 1
        elapsed = time.perf_counter() - started
    finally:
        if enabled:
            gc.enable()
    return elapsed, differences


def warm(url: str, credentials: Mapping[str, str]) -> None:
    """Read the contact list and every member list once from the emulator at ``url``, as a
    refresh does, so that its caches are as warm as after a first run."""
    import requests  # the bench's own reads, apart from the client under test

    with requests.Session() as session:
        session.auth = (f"{credentials['username']}@{credentials['domain']}", credentials["password"])
        session.get(url + "/contacts").raise_for_status()
        groups = session.get(url + "/groups")
        groups.raise_for_status()
        for group in groups.json():
            session.get(f"{url}/groups/{group['GroupId']}/contacts").raise_for_status()


class Timed:
    """A WSGI middleware adding up the wall time the emulator spends answering requests.

    Concurrent requests overlap, so ``busy`` is the time at least one request was in the app
    (the union of the intervals), which is what "how much of the time the emulator used" means.
    """

    def __init__(self, app: Callable[..., Any]) -> None:
        self.app = app
        self._lock = threading.Lock()
        self._active = 0
        self._since = 0.0
        self.busy = 0.0
        self.requests = 0

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Any:
        with self._lock:
            if self._active == 0:
                self._since = time.perf_counter()
            self._active += 1
            self.requests += 1
        try:
            return list(self.app(environ, start_response))
        finally:
            with self._lock:
                self._active -= 1
                if self._active == 0:
                    self.busy += time.perf_counter() - self._since

    def reset(self) -> None:
        with self._lock:
            self.busy, self.requests = 0.0, 0
