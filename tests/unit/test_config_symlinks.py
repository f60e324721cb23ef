"""Symlinks never lead the config loader out of the config directory, and refused files are not echoed."""

from __future__ import annotations

from pathlib import Path

import pytest

from reconciler.config.load import load_config
from reconciler.errors import ConfigError

ROOT = """\
version: 1
accounts:
  se-main:
    provider: intime
    credentials: {user: ops, hash: "${INTIME_HASH}"}
"""
ENV = {"INTIME_HASH": "0123456789abcdef0123456789abcdef01234567"}
OUTSIDE = "mobile,first_name\n+46701234567,SECRET-ROW-Outsider\n"


def _repo(tmp_path: Path) -> Path:
    root = tmp_path / "repo"
    root.mkdir()
    (root / "reconciler.yaml").write_text(ROOT, encoding="utf-8")
    return root


def test_csv_symlinked_outside_is_refused(tmp_path: Path) -> None:
    """A from_csv file that is a symlink to a file outside the repository is refused unread."""
    root = _repo(tmp_path)
    (tmp_path / "outside.csv").write_text(OUTSIDE, encoding="utf-8")
    (root / "people.csv").symlink_to(tmp_path / "outside.csv")
    (root / "contacts.yaml").write_text(
        "account: se-main\ncontacts:\n  - from_csv: people.csv\n", encoding="utf-8"
    )
    with pytest.raises(ConfigError) as caught:
        load_config(root, ENV)
    text = str(caught.value)
    assert "contacts.yaml:3:15: contacts[0].from_csv: cannot read 'people.csv': it resolves" in text
    assert "outside the config directory" in text and "Outsider" not in text


def test_csv_symlinked_to_system_file_never_echoes_it(tmp_path: Path) -> None:
    """A CSV symlinked to /etc/passwd is refused without quoting its first line."""
    root = _repo(tmp_path)
    (root / "people.csv").symlink_to("/etc/passwd")
    (root / "contacts.yaml").write_text(
        "account: se-main\ncontacts:\n  - from_csv: people.csv\n", encoding="utf-8"
    )
    with pytest.raises(ConfigError) as caught:
        load_config(root, ENV)
    assert "root:" not in str(caught.value) and "outside the config directory" in str(caught.value)


def test_yaml_symlinked_outside_is_refused(tmp_path: Path) -> None:
    """A resource YAML file that is a symlink to a file outside the repository is not loaded."""
    root = _repo(tmp_path)
    (tmp_path / "groups.yaml").write_text("account: se-main\ngroups:\n  - name: Outsiders\n", encoding="utf-8")
    (root / "groups.yaml").symlink_to(tmp_path / "groups.yaml")
    with pytest.raises(ConfigError) as caught:
        load_config(root, ENV)
    assert "groups.yaml: cannot read file: it resolves (through a symlink) to a file outside" in str(
        caught.value
    )


def test_symlink_inside_the_repository_is_read(tmp_path: Path) -> None:
    """A symlink to another file inside the repository is fine."""
    root = _repo(tmp_path)
    (root / "data").mkdir()
    (root / "data" / "people.csv").write_text("mobile,first_name\n+46701234567,Anna\n", encoding="utf-8")
    (root / "people.csv").symlink_to(root / "data" / "people.csv")
    (root / "contacts.yaml").write_text(
        "account: se-main\ncontacts:\n  - from_csv: people.csv\n", encoding="utf-8"
    )
    config = load_config(root, ENV)
    assert list(config.desired[("se-main", "contacts")]) == ["+46701234567"]
