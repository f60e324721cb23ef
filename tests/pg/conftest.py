"""Fixtures for the PostgreSQL state tests: a real server, a fresh schema per test, served sites.

The server is ``RECONCILER_TEST_PG_URL`` (default ``postgresql://postgres@127.0.0.1:5432/test``).
When none answers the tests are skipped with the reason, except under ``CI=true``, where that is a
failure. Every test gets its own randomly named schema, dropped afterwards, so xdist workers never
share state. A *site* is a config repository of N InTime accounts, each on its own emulator (served
on its own loopback port through a :class:`~tests.faults.conftest.Probe`), with the PostgreSQL
backend; ``checkout()`` copies its config files (only) to another directory, as a fresh clone.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import textwrap
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import psycopg
import pytest
from click.testing import CliRunner, Result

from reconciler.cli import main
from reconciler.sandbox import emulator_class
from reconciler.sandbox.server import Server
from reconciler.secrets import redact_url
from reconciler.state.postgres import PostgresBackend
from tests.faults.conftest import REPO_ROOT, Probe
from tests.faults.schedules import API_PATH, RESOURCES_YAML, new_emulator

PG_URL = os.environ.get("RECONCILER_TEST_PG_URL") or "postgresql://postgres@127.0.0.1:5432/test"


@pytest.fixture(scope="session")
def pg_url() -> str:
    """The test server's URL; skip (or fail under CI=true) when no PostgreSQL answers there."""
    try:
        psycopg.connect(PG_URL, connect_timeout=5).close()
    except psycopg.Error as exc:
        reason = (
            f"no PostgreSQL answers at {redact_url(PG_URL)} ({' '.join(str(exc).split())[:200]}); "
            "set RECONCILER_TEST_PG_URL to a server where the tests may create schemas"
        )
        if os.environ.get("CI") == "true":
            pytest.fail(f"CI=true requires PostgreSQL for the state backend tests: {reason}")
        pytest.skip(reason)
    return PG_URL


@pytest.fixture
def pg_schema(pg_url: str) -> Iterator[str]:
    """A schema name of this test's own, dropped (with everything in it) afterwards."""
    name = f"t_{uuid.uuid4().hex[:12]}"
    yield name
    with psycopg.connect(pg_url, autocommit=True) as conn:
        conn.execute(psycopg.sql.SQL("DROP SCHEMA IF EXISTS {} CASCADE").format(psycopg.sql.Identifier(name)))


def pg_execute(url: str, statement: str, *params: Any) -> list[tuple[Any, ...]]:
    """Run one statement on a connection of its own (another session than the tool's)."""
    with psycopg.connect(url, autocommit=True) as conn:
        cursor = conn.execute(statement, params or None)
        return cursor.fetchall() if cursor.description else []


ROOT_YAML = """\
    version: 1
    defaults: {{region: SE}}
    accounts:
    {accounts}
    safety: {{max_update_percent: 100, max_delete_percent: 100}}
    state: {state}
    """
ACCOUNT_YAML = """\
      {name}:
        provider: intime
        url: ${{INTIME_URL_{index}}}
        credentials: {{user: "${{INTIME_USER}}", hash: "${{INTIME_HASH}}"}}
"""


@dataclass
class Account:
    """One account of a site: its emulator, the probe in front of it and the server it is on."""

    name: str
    emulator: Any
    probe: Probe
    server: Server


@dataclass
class Site:
    """A config repository of InTime accounts using the PostgreSQL state backend (or a file)."""

    root: Path
    env: dict[str, str]
    accounts: dict[str, Account]
    schema: str
    backend: str = "postgres"
    checkouts: list[Path] = field(default_factory=list)

    def write_config(self, backend: str | None = None) -> None:
        """(Re)write reconciler.yaml for ``backend`` ("postgres" or "file")."""
        self.backend = backend or self.backend
        entries = "".join(
            ACCOUNT_YAML.format(name=name, index=index) for index, name in enumerate(self.accounts)
        )
        state = (
            f"{{backend: postgres, url: '${{RECONCILER_STATE_URL}}', schema: {self.schema}}}"
            if self.backend == "postgres"
            else "{path: .reconciler/state.json}"
        )
        text = textwrap.dedent(ROOT_YAML).format(
            accounts=textwrap.indent(entries, "    ").strip("\n"), state=state
        )
        (self.root / "reconciler.yaml").write_text(text, encoding="utf-8")

    def checkout(self, name: str) -> Path:
        """A fresh clone: the config files only, no state file, in a sibling directory."""
        target = self.root.parent / name
        target.mkdir()
        for path in self.root.glob("*.yaml"):
            shutil.copy(path, target / path.name)
        self.checkouts.append(target)
        return target

    def subprocess_env(self) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if not k.lower().endswith("_proxy")}
        env.update(self.env)
        env["RECONCILER_RETRY_SCALE"] = "0"
        env["PYTHONPATH"] = str(REPO_ROOT)
        return env

    def spawn(self, *args: str, cwd: Path | None = None) -> subprocess.Popen[str]:
        """Start ``python -m reconciler.cli ARGS`` in the repository (or ``cwd``)."""
        return subprocess.Popen(
            [sys.executable, "-m", "reconciler.cli", *args],
            cwd=cwd or self.root,
            env=self.subprocess_env(),
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )

    def run(
        self, *args: str, cwd: Path | None = None, timeout: float = 90
    ) -> subprocess.CompletedProcess[str]:
        """Run ``python -m reconciler.cli ARGS`` to completion."""
        return subprocess.run(
            [sys.executable, "-m", "reconciler.cli", *args],
            cwd=cwd or self.root,
            env=self.subprocess_env(),
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
        )

    def cli(self, *args: str) -> Result:
        """Run the CLI in process (click's runner) with the site's environment."""
        return CliRunner(env=self.env).invoke(main, list(args), catch_exceptions=False)

    def document(self) -> dict[str, Any]:
        """The whole state in the database, read on a connection of its own."""
        backend = PostgresBackend(self.env["RECONCILER_STATE_URL"], self.schema)
        try:
            return backend.read_document()
        finally:
            backend.close()


@pytest.fixture
def pg_site(tmp_path: Path, pg_url: str, pg_schema: str) -> Iterator[Callable[..., Site]]:
    """``pg_site(accounts=1, backend="postgres")``: a served site; its emulators stop after the test."""
    sites: list[Site] = []

    def start(accounts: int = 1, backend: str = "postgres") -> Site:
        _, credentials = emulator_class("intime")
        env = {"INTIME_USER": credentials["user"], "INTIME_HASH": credentials["hash"]}
        env["RECONCILER_STATE_URL"] = pg_url
        root = tmp_path / "repo"
        root.mkdir()
        served: dict[str, Account] = {}
        for index in range(accounts):
            name = f"clinic{index + 1}" if accounts > 1 else "clinic"
            emulator = new_emulator("intime")
            probe = Probe(emulator)
            server = Server(probe).start()
            served[name] = Account(name, emulator, probe, server)
            env[f"INTIME_URL_{index}"] = server.url + API_PATH["intime"]
            text = textwrap.dedent(RESOURCES_YAML["intime"]).replace(
                "account: clinic\n", f"account: {name}\n"
            )
            (root / f"{name}.yaml").write_text(text, encoding="utf-8")
        site = Site(root, env, served, pg_schema, backend)
        site.write_config()
        sites.append(site)
        return site

    yield start
    for site in sites:
        for account in site.accounts.values():
            account.probe.release()
            account.server.stop()
            account.emulator.db.close()
