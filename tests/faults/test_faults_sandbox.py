"""`reconciler sandbox --faults SPEC`: starts, serves every provider, an apply converges, SIGTERM stops it."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from pathlib import Path

from click.testing import CliRunner

from reconciler.cli import main
from reconciler.providers.base import sandbox_ports
from reconciler.sandbox import emulator_class
from tests.faults.conftest import REPO_ROOT, Lines, free_port_base
from tests.faults.schedules import CHECKS, PROVIDERS, write_site


def test_sandbox_with_faults_serves_and_an_apply_converges(tmp_path: Path) -> None:
    """Under throttle:every=3 each provider's apply converges; SIGTERM stops the sandbox, data persists."""
    base = free_port_base()
    env = {**os.environ, "RECONCILER_RETRY_SCALE": "0", "PYTHONPATH": str(REPO_ROOT)}
    data = tmp_path / "sandbox" / "sandbox.db"
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "reconciler.cli",
            "sandbox",
            "--faults",
            "seed=1,throttle:every=3",
            "--port-base",
            str(base),
            "--data",
            str(data),
        ],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    out, err = Lines(proc.stdout), Lines(proc.stderr)  # type: ignore[arg-type]
    try:
        started = out.wait_for(
            lambda lines: sum(line.split()[0] in PROVIDERS for line in lines if line) == len(PROVIDERS)
        )
        assert started, f"{out.text()}\n{err.text()}"
        for provider in PROVIDERS:
            url = f"http://127.0.0.1:{base + sandbox_ports()[provider]}"
            assert any(line.startswith(provider) and url in line for line in out.lines), out.text()
            site = write_site(provider, tmp_path / provider, url)
            runner = CliRunner(env=site.env)
            applied = runner.invoke(
                main, ["-v", "apply", str(site.root), "--auto-approve"], catch_exceptions=False
            )
            assert applied.exit_code == 0, applied.output
            assert "throttled" in applied.output  # the faults are on, and retried
            final = runner.invoke(main, ["plan", str(site.root), "--format", "json"], catch_exceptions=False)
            assert final.exit_code == 0, final.output
            assert json.loads(final.stdout)["changes"] == []
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=30) == 0
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert out.closed() and err.closed()
    assert "Sandbox stopped." in err.text()
    for provider in PROVIDERS:  # what the sandbox persisted is the declared account, once
        cls, _ = emulator_class(provider)
        emulator = cls(str(data.with_name(f"sandbox-{provider}.db")))
        try:
            assert CHECKS[provider](emulator, set()) == []
        finally:
            emulator.db.close()


def test_sandbox_refuses_a_bad_fault_spec() -> None:
    """A fault spec it cannot read stops the sandbox at once with the reason, exit 1."""
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "reconciler.cli",
            "sandbox",
            "--faults",
            "explode:p=1",
            "--port-base",
            str(free_port_base()),
        ],
        env={**os.environ, "PYTHONPATH": str(REPO_ROOT)},
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )
    assert result.returncode == 1
    assert "unknown fault 'explode'" in result.stderr
