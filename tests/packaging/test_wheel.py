"""The built wheel, installed in a clean virtualenv outside the checkout, works as users get it."""

from __future__ import annotations

import shutil
import subprocess
import sys
import venv
from pathlib import Path

import pytest
from filelock import FileLock

from tests.sandbox_process import clean_environment, sandbox

# Building and installing a wheel takes a minute on a busy 2-core machine.
pytestmark = pytest.mark.timeout(600)

ROOT = Path(__file__).resolve().parents[2]
DEMO_ENV = {
    "INTOUCH_URL": "http://127.0.0.1:8601/2",
    "INTOUCH_USER": "demo",
    "INTOUCH_DOMAIN": "example.com",
    "INTOUCH_PASSWORD": "sandbox-intouch-password",
}


@pytest.fixture(scope="session")
def installed(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A fresh virtualenv outside the checkout with the wheel built from this tree installed.

    Built once per test run: pytest-xdist workers share the base temp directory's parent, and a
    file lock lets the first worker build while the others wait for it.
    """
    shared = tmp_path_factory.getbasetemp().parent
    base = shared / "wheel-venv"
    with FileLock(str(shared / "wheel-venv.lock")):
        if not (base / "ready").exists():
            _build(base)
    return base / "venv"


def _build(base: Path) -> None:
    shutil.rmtree(base, ignore_errors=True)
    dist = base / "dist"
    dist.mkdir(parents=True)
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--quiet", "--no-deps", "-w", str(dist), str(ROOT)],
        check=True,
        cwd=base,
        capture_output=True,
    )
    wheels = list(dist.glob("reconciler-*.whl"))
    assert len(wheels) == 1, wheels
    env_dir = base / "venv"
    venv.EnvBuilder(with_pip=True).create(env_dir)
    subprocess.run(
        [str(env_dir / "bin" / "python"), "-m", "pip", "install", "--quiet", str(wheels[0])],
        check=True,
        cwd=base,
        capture_output=True,
    )
    (base / "ready").touch()


def _run(
    env_dir: Path, args: list[str], cwd: Path, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    """The installed ``reconciler`` with ``env`` (default: the demo credentials, no checkout on the path)."""
    full = clean_environment()
    full.pop("PYTHONPATH", None)
    full.update(DEMO_ENV if env is None else env)
    return subprocess.run(
        [str(env_dir / "bin" / "reconciler"), *args], cwd=cwd, env=full, capture_output=True, text=True
    )


@pytest.mark.timeout(360)  # building the venv fetches every dependency from the index (~10 s each)
def test_wheel_ships_the_schemas(installed: Path, tmp_path: Path) -> None:
    """validate and state list run from the installed wheel in a directory outside the checkout."""
    config = tmp_path / "quickstart"
    shutil.copytree(ROOT / "examples" / "quickstart", config)
    result = _run(installed, ["validate", str(config)], cwd=tmp_path)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "Traceback" not in result.stderr
    result = _run(installed, ["state", "list", "-C", str(config)], cwd=tmp_path)
    assert result.returncode == 0, result.stdout + result.stderr
    # The package really is the installed one, not the checkout.
    where = subprocess.run(
        [str(installed / "bin" / "python"), "-c", "import reconciler; print(reconciler.__file__)"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    assert str(ROOT) not in where


def test_top_level_schemas_match_the_packaged_ones() -> None:
    """schemas/ (for editors and readers) holds the same bytes as reconciler/schemas/ (shipped)."""
    packaged = {p.name: p.read_bytes() for p in (ROOT / "reconciler" / "schemas").glob("*.json")}
    top = {p.name: p.read_bytes() for p in (ROOT / "schemas").glob("*.json")}
    assert packaged and packaged == top


def test_wheel_validates_without_credentials(installed: Path, tmp_path: Path) -> None:
    """validate from a directory outside the checkout with no provider variable set: exit 0, one note."""
    config = tmp_path / "quickstart"
    shutil.copytree(ROOT / "examples" / "quickstart", config)
    result = _run(installed, ["validate", "-C", str(config)], cwd=tmp_path, env={})
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout.startswith("Valid: ")
    assert (
        "Note: " in result.stderr and "INTOUCH_PASSWORD" in result.stderr and "Traceback" not in result.stderr
    )


def test_wheel_plans_against_its_own_sandbox(installed: Path, tmp_path: Path) -> None:
    """The installed wheel's sandbox serves the installed wheel's plan: exit 2 with the example's changes."""
    config = tmp_path / "quickstart"
    shutil.copytree(ROOT / "examples" / "quickstart", config)
    with sandbox([str(installed / "bin" / "reconciler")], tmp_path / "sandbox.db") as env:
        result = _run(installed, ["plan", "-C", str(config)], cwd=tmp_path, env=env)
    assert result.returncode == 2, result.stdout + result.stderr
    assert "Account oslo:" in result.stdout and "Plan: " in result.stdout
