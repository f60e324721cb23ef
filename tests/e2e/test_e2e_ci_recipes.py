"""The CI recipes in examples/ci/ and .pre-commit-hooks.yaml: every `reconciler ...` line they hold runs
green against the sandbox, in the order a pipeline runs them (validate, plan, apply, drift)."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.sandbox_process import clean_environment, sandbox

ROOT = Path(__file__).resolve().parents[2]
RECIPES = sorted(p for p in (ROOT / "examples" / "ci").iterdir() if p.suffix in (".yml", ".yaml"))
SCRIPT_KEYS = ("run", "script", "before_script", "after_script")
BIN = Path(sys.executable).parent
PG_URL = os.environ.get("RECONCILER_TEST_PG_URL") or "postgresql://postgres@127.0.0.1:5432/test"


def _scripts(node: Any) -> list[str]:
    """Every shell script of a workflow or pipeline file (``run:``, ``script:`` ...), in file order."""
    found: list[str] = []
    if isinstance(node, dict):
        for key, value in node.items():
            if key in SCRIPT_KEYS and isinstance(value, str):
                found.append(value)
            elif key in SCRIPT_KEYS and isinstance(value, list):
                found.extend(v for v in value if isinstance(v, str))
            else:
                found.extend(_scripts(value))
    elif isinstance(node, list):
        for item in node:
            found.extend(_scripts(item))
    return found


def reconciler_lines(text: str) -> list[str]:
    """The shell lines of a recipe that run reconciler (continuation lines joined)."""
    lines = []
    for script in _scripts(yaml.safe_load(text)):
        for line in script.replace("\\\n", " ").splitlines():
            if line.strip().startswith("reconciler "):
                lines.append(line.strip())
    return lines


def _postgres_backend() -> bool:
    """True when the state backend for PostgreSQL is on this branch (its recipe needs it)."""
    schema = json.loads((ROOT / "reconciler" / "schemas" / "reconciler.schema.json").read_text("utf-8"))
    return "backend" in json.dumps(schema.get("properties", {}).get("state", {}))


def _run(line: str, cwd: Path, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["bash", "-o", "pipefail", "-c", line], cwd=cwd, env=env, capture_output=True, text=True, timeout=120
    )


def test_every_recipe_is_found():
    """The recipes the docs promise exist and each runs reconciler (so the test below can't pass empty)."""
    names = [p.name for p in RECIPES]
    assert "github-actions.yml" in names and "gitlab-ci.yml" in names
    for recipe in RECIPES:
        assert reconciler_lines(recipe.read_text("utf-8")), recipe.name


@pytest.fixture
def state_schema() -> Iterator[str]:
    """A PostgreSQL schema of this test's own for a recipe that keeps state there, dropped afterwards
    (skipped when no server answers, or when the backend is not on this branch)."""
    if not _postgres_backend():
        pytest.skip("this recipe keeps state in PostgreSQL, and that backend is not on this branch yet")
    psycopg = pytest.importorskip("psycopg")
    try:
        psycopg.connect(PG_URL, connect_timeout=5).close()
    except psycopg.Error as exc:
        pytest.skip(f"no PostgreSQL answers for the recipe's state ({type(exc).__name__})")
    name = f"t_{uuid.uuid4().hex[:12]}"
    yield name
    with psycopg.connect(PG_URL, autocommit=True) as conn:
        conn.execute(psycopg.sql.SQL("DROP SCHEMA IF EXISTS {} CASCADE").format(psycopg.sql.Identifier(name)))


@pytest.mark.parametrize("recipe", RECIPES, ids=lambda p: p.name)
def test_recipe_commands_run_green_against_the_sandbox(
    recipe: Path, tmp_path: Path, request: pytest.FixtureRequest
):
    """validate, plan (Markdown + saved plan), apply of that plan and drift all exit 0 in sequence."""
    text = recipe.read_text("utf-8")
    lines = reconciler_lines(text)
    config = tmp_path / "config"
    shutil.copytree(ROOT / "examples" / "quickstart", config)
    env = clean_environment()
    env["PATH"] = f"{BIN}:{env.get('PATH', '')}"
    env["RECONCILER_RETRY_SCALE"] = "0"
    if "RECONCILER_STATE_URL" in text:  # the recipe's reconciler.yaml keeps the state in PostgreSQL
        schema = request.getfixturevalue("state_schema")
        env["RECONCILER_STATE_URL"] = PG_URL
        with (config / "reconciler.yaml").open("a", encoding="utf-8") as root:
            root.write(f"state: {{backend: postgres, url: '${{RECONCILER_STATE_URL}}', schema: {schema}}}\n")
    with sandbox([str(BIN / "reconciler")], tmp_path / "sandbox.db") as sandbox_env:
        env.update(sandbox_env)
        for line in lines:
            result = _run(line, config, env)
            assert result.returncode == 0, f"{recipe.name}: {line}\n{result.stdout}\n{result.stderr}"
            assert "Traceback" not in result.stderr
        if any(re.search(r"\breconciler apply\b", line) for line in lines):
            again = _run("reconciler plan", config, env)
            assert again.returncode == 0, again.stdout + again.stderr  # the reviewed plan was applied
    if any("--format markdown > plan.md" in line for line in lines):
        assert (config / "plan.md").read_text("utf-8").startswith("## Reconciler plan")
    if any("--output drift.html" in line for line in lines):
        assert "<html" in (config / "drift.html").read_text("utf-8").lower()


def test_pre_commit_hook_runs_validate(tmp_path: Path):
    """The pre-commit hook's entry validates an example repository with no credentials: exit 0."""
    hooks = yaml.safe_load((ROOT / ".pre-commit-hooks.yaml").read_text("utf-8"))
    (hook,) = [h for h in hooks if h["id"] == "reconciler-validate"]
    assert hook["language"] == "python" and hook["pass_filenames"] is False
    assert re.search(hook["files"], "contacts.yaml") and re.search(hook["files"], "customers.csv")
    config = tmp_path / "config"
    shutil.copytree(ROOT / "examples" / "quickstart", config)
    env = dict(clean_environment(), PATH=f"{BIN}:{clean_environment().get('PATH', '')}")
    result = _run(" ".join([hook["entry"], *hook.get("args", [])]), config, env)
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout.startswith("Valid: ")
