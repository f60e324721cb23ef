"""End-to-end fixtures: real emulators on loopback ports and config repos in tmp dirs.

Tests drive the real CLI (click's CliRunner, in-process) against the emulators over HTTP.
"""

from __future__ import annotations

import textwrap
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner, Result

from reconciler.cli import main
from reconciler.providers.base import REGISTRY
from reconciler.sandbox import emulator_class
from reconciler.sandbox.server import Server


@dataclass
class Emu:
    """A running emulator, its API URL and the environment a config needs to reach it."""

    emulator: Any
    url: str
    env: dict[str, str]
    credentials: dict[str, str]


# Derived from each provider's registration (reconciler/providers/<name>/__init__.py).
ENV_NAMES = {name: dict(reg.sandbox.credential_env) for name, reg in REGISTRY.items()}
URL_ENV = {name: reg.sandbox.url_env for name, reg in REGISTRY.items()}
API_PATH = {name: reg.sandbox.api_path for name, reg in REGISTRY.items()}


def start_emulator(provider: str, **options: Any) -> tuple[Emu, Server]:
    cls, credentials = emulator_class(provider)
    emulator = cls(**options)
    server = Server(emulator).start()
    url = server.url + API_PATH[provider]
    env = {ENV_NAMES[provider][k]: v for k, v in credentials.items()}
    env[URL_ENV[provider]] = url
    return Emu(emulator, url, env, credentials), server


def _fixture(provider: str):
    @pytest.fixture
    def emu() -> Iterator[Emu]:
        running, server = start_emulator(provider)
        try:
            yield running
        finally:
            server.stop()

    return emu


intouch = _fixture("intouch")
intime = _fixture("intime")
smsconnector = _fixture("smsconnector")


ACCOUNT_YAML = {
    "intouch": """\
  {name}:
    provider: intouch
    url: ${{INTOUCH_URL}}
    credentials: {{username: ${{INTOUCH_USER}}, domain: ${{INTOUCH_DOMAIN}}, password: ${{INTOUCH_PASSWORD}}}}
""",
    "intime": """\
  {name}:
    provider: intime
    url: ${{INTIME_URL}}
    credentials: {{user: "${{INTIME_USER}}", hash: "${{INTIME_HASH}}"}}
""",
    "smsconnector": """\
  {name}:
    provider: smsconnector
    region: GB
    number_validity: possible  # 07700 900xxx: Ofcom's drama range, never assigned
    url: ${{SMSC_URL}}
    credentials: {{username: "${{SMSC_USER}}", password: "${{SMSC_PASSWORD}}"}}
""",
}


class Repo:
    """A config repository in a tmp dir, and a CLI runner bound to its environment."""

    def __init__(self, root: Path, env: dict[str, str]) -> None:
        self.root = root
        self.env = env

    def write(self, name: str, text: str) -> Path:
        path = self.root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(textwrap.dedent(text), encoding="utf-8")
        return path

    def cli(self, *args: str, input: str | None = None) -> Result:
        runner = CliRunner(env=self.env)
        return runner.invoke(main, [*args], input=input, catch_exceptions=False)


def make_repo(
    tmp_path: Path,
    accounts: dict[str, tuple[str, Emu]],
    extra: str = "",
    region: str = "SE",
    prune: dict[str, list[str]] | None = None,
) -> Repo:
    """A repo whose reconciler.yaml declares ``accounts`` (name -> (provider, running emulator))."""
    env: dict[str, str] = {}
    lines = ["version: 1", f"defaults: {{region: {region}}}", "accounts:"]
    for name, (provider, emu) in accounts.items():
        lines.append(ACCOUNT_YAML[provider].format(name=name).rstrip("\n"))
        if prune and name in prune:
            lines.append(f"    prune: [{', '.join(prune[name])}]")
        env.update(emu.env)
    lines.append("safety: {max_update_percent: 100, max_delete_percent: 100}")
    repo = Repo(tmp_path, env)
    repo.write("reconciler.yaml", "\n".join(lines) + "\n" + extra)
    return repo
