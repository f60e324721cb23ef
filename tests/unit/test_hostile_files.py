"""Damaged state files and saved plans, and unexpected exceptions: one clear line, never a traceback."""

from __future__ import annotations

import json
import tempfile
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from reconciler import secrets
from reconciler.cli import main
from reconciler.plan import checksum

HASH = "0123456789abcdef0123456789abcdef01234567"
ROOT = """\
version: 1
accounts:
  se-main:
    provider: intime
    url: http://127.0.0.1:9/api/1.0
    credentials: {user: ops, hash: "${INTIME_HASH}"}
"""


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    """A config repository with one InTime account (no resources) and a state directory."""
    (tmp_path / "reconciler.yaml").write_text(ROOT, encoding="utf-8")
    (tmp_path / ".reconciler").mkdir()
    return tmp_path


def _cli(*args: str) -> Result:
    return CliRunner(env={"INTIME_HASH": HASH}).invoke(main, list(args), catch_exceptions=False)


def _one_error(result: Result) -> str:
    assert result.exit_code == 1, result.output
    assert "Traceback" not in result.output and HASH not in result.output
    errors = [line for line in result.output.splitlines() if line.startswith("Error:")]
    assert len(errors) == 1, result.output
    return errors[0]


@pytest.mark.parametrize(
    ("snapshot", "expected"),
    [
        ({"format_version": 1, "accounts": []}, "'accounts' must map account -> type -> key -> record"),
        (
            {"format_version": 1, "accounts": {"se-main": {"groups": {"Staff": "12"}}}},
            "'accounts' must map account -> type -> key -> record",
        ),
        (
            {"format_version": 1, "accounts": {"se-main": {"groups": []}}},
            "'accounts' must map account -> type -> key -> record",
        ),
        (
            {"format_version": 1, "accounts": {}, "intents": [{"account": "se-main"}]},
            "'intents' must be a list of",
        ),
    ],
)
def test_state_file_of_the_wrong_shape(repo: Path, snapshot: dict, expected: str) -> None:
    """A state file of valid JSON but the wrong shape is one line naming the file and the problem."""
    (repo / ".reconciler" / "state.json").write_text(json.dumps(snapshot), encoding="utf-8")
    line = _one_error(_cli("state", "list", "--dir", str(repo)))
    assert "state.json: " in line and expected in line, line


@pytest.mark.parametrize(
    "entry",
    [
        "5",
        '{"op": "record", "account": "se-main"}',
        '{"op": "explode", "account": "a", "type": "t", "key": "k"}',
    ],
)
def test_journal_entry_of_the_wrong_shape(repo: Path, entry: str) -> None:
    """A journal line of valid JSON but the wrong shape names the journal file and line."""
    (repo / ".reconciler" / "state.json.journal").write_text(entry + "\n" + entry + "\n", encoding="utf-8")
    line = _one_error(_cli("state", "list", "--dir", str(repo)))
    assert "state.json.journal:1: " in line, line


def test_state_that_cannot_be_written(repo: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A state file that cannot be replaced (immutable, read-only disk) is one line, not a traceback."""
    import reconciler.state.file as file_backend

    state = repo / ".reconciler" / "state.json"
    state.write_text(
        json.dumps(
            {"format_version": 1, "accounts": {"se-main": {"groups": {"Staff": {"id": "1", "attrs": {}}}}}}
        ),
        encoding="utf-8",
    )

    def refuse(path: Path, text: str) -> None:
        raise PermissionError(1, "Operation not permitted", str(path))

    monkeypatch.setattr(file_backend, "atomic_write", refuse)
    line = _one_error(_cli("state", "rm", "se-main/groups/Staff", "--dir", str(repo)))
    assert "Operation not permitted" in line, line


@pytest.mark.parametrize(
    ("meta", "expected"),
    [
        ([], "saved plan meta is a list, expected an object"),
        ({"accounts": [1, 2]}, "meta.accounts: expected a list of names"),
    ],
)
def test_saved_plan_of_the_wrong_shape(repo: Path, meta: object, expected: str) -> None:
    """A saved plan with a valid checksum but meta of the wrong shape is refused on one line."""
    data = {"format_version": 1, "changes": [], "meta": meta}
    data["checksum"] = checksum(data)
    plan = repo / "plan.json"
    plan.write_text(json.dumps(data), encoding="utf-8")
    line = _one_error(_cli("apply", str(plan), "--config", str(repo)))
    assert "plan.json: not a usable saved plan: " in line and expected in line, line


def test_unexpected_exception_is_one_redacted_line_and_a_debug_log(
    repo: Path, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """A bug (a KeyError carrying the secret) prints one line naming a redacted debug log."""
    import reconciler.cli as cli

    logs = tmp_path / "logs"
    logs.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(logs))
    secrets.register(HASH)

    def broken(*args: object, **kwargs: object) -> None:
        raise KeyError(f"hash={HASH}")

    monkeypatch.setattr(cli, "load_repo", broken)
    line = _one_error(_cli("plan", str(repo)))
    assert line.startswith("Error: internal error (KeyError: ")
    assert "This is a bug in reconciler" in line and str(logs) in line
    [log] = list(logs.iterdir())
    text = log.read_text(encoding="utf-8")
    assert "Traceback" in text and "KeyError" in text and HASH not in text and "***" in text
    assert oct(log.stat().st_mode & 0o777) == "0o600"
