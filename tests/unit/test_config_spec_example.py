"""The interface spec's reconciler.yaml example loads as written (unquoted ${VAR} in flow mappings)."""

from __future__ import annotations

from pathlib import Path

import pytest

from reconciler.config.load import load_config
from reconciler.errors import ConfigError

SPEC_ROOT = """\
version: 1
defaults:
  region: SE
accounts:
  se-main:
    provider: intime
    url: https://sms.intime.nu/api/1.0
    credentials:
      user: ${INTIME_USER}
      hash: ${INTIME_HASH}
    prune: [blocklist]
  no-main:
    provider: intouch
    credentials: {username: ${INTOUCH_USER}, domain: acme.com, password: ${INTOUCH_PASSWORD}}
  uk:
    provider: smsconnector
    region: GB
    credentials: {username: ${UK_USER}, password: ${UK_PASSWORD}}
safety:
  max_update_percent: 30
  max_delete_percent: 30
  min_existing: 10
state:
  path: .reconciler/state.json
"""
ENV = {
    "INTIME_USER": "acme",
    "INTIME_HASH": "f" * 40,
    "INTOUCH_USER": "ops",
    "INTOUCH_PASSWORD": "pw-1234",
    "UK_USER": "uk-ops",
    "UK_PASSWORD": "pw-5678",
}


def test_spec_example_loads_and_expands(tmp_path: Path):
    """Unquoted ${NAME} in a flow mapping expands like the quoted form."""
    (tmp_path / "reconciler.yaml").write_text(SPEC_ROOT, encoding="utf-8")
    config = load_config(tmp_path, ENV)
    assert config.accounts["no-main"].credentials == {
        "username": "ops",
        "domain": "acme.com",
        "password": "pw-1234",
    }
    assert config.accounts["uk"].credentials["password"] == "pw-5678"


def test_missing_variable_points_at_its_column(tmp_path: Path):
    """A missing variable inside a flow mapping is reported at its exact line and column."""
    (tmp_path / "reconciler.yaml").write_text(SPEC_ROOT, encoding="utf-8")
    env = {k: v for k, v in ENV.items() if k != "INTOUCH_PASSWORD"}
    with pytest.raises(ConfigError) as caught:
        load_config(tmp_path, env)
    [problem] = caught.value.problems
    assert str(problem).split("/")[-1] == (
        "reconciler.yaml:14:74: accounts.no-main.credentials.password: "
        "environment variable INTOUCH_PASSWORD is not set "
        "(export INTOUCH_PASSWORD=... before running reconciler)"
    )
