"""The built wheel, installed in a clean virtualenv outside the checkout, works as users get it."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import venv
from pathlib import Path

import pytest

# Building and installing a wheel takes a minute on a busy 2-core machine.
pytestmark = pytest.mark.timeout(600)

ROOT = Path(__file__).resolve().parents[2]
DEMO_ENV = {
    "INTOUCH_URL": "http://127.0.0.1:8601/2",
    "INTOUCH_USER": "demo",
    "INTOUCH_DOMAIN": "example.com",
    "INTOUCH_PASSWORD": "sandbox-intouch-password",
}


@pytest.fixture(scope="module")
def installed(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A fresh virtualenv outside the checkout with the wheel built from this tree installed."""
    base = tmp_path_factory.mktemp("wheel")
    dist = base / "dist"
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
    return env_dir


def _run(env_dir: Path, args: list[str], cwd: Path) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("INTOUCH_", "INTIME_", "SMSC_"))}
    env.pop("PYTHONPATH", None)
    env.update(DEMO_ENV)
    return subprocess.run(
        [str(env_dir / "bin" / "reconciler"), *args], cwd=cwd, env=env, capture_output=True, text=True
    )


@pytest.mark.timeout(360)  # building the venv fetches every dependency from the index (~10 s each)
def test_wheel_ships_the_schemas(installed: Path, tmp_path: Path) -> None:
    """validate and state list run from the installed wheel in a directory outside the checkout."""
    config = tmp_path / "quickstart"
    shutil.copytree(ROOT / "examples" / "quickstart", config)
    result = _run(installed, ["validate", str(config)], cwd=tmp_path)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "Traceback" not in result.stderr
    result = _run(installed, ["state", "list", "--dir", str(config)], cwd=tmp_path)
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
