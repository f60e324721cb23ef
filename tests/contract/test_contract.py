"""The provider contract (docs/providers/contract.md), checked for every registered provider.

Each test is parametrized over the registry, so a provider added to it is checked without a test
of its own: its handlers match its capabilities, an export plans to nothing, an apply converges,
an answer lost after a create is read back, and no output ever shows a secret. The sample
config of each provider is the one of the fault tests (tests/faults/schedules.py).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

import pytest

from reconciler.plan import Plan
from reconciler.providers.base import REGISTRY, provider_class
from reconciler.providers.contract import missing_handlers
from tests.faults.conftest import Served
from tests.faults.schedules import check_converged

PROVIDERS = tuple(REGISTRY)
SECRET_KEYS = ("password", "hash", "token", "secret")


def _plan(served: Served) -> Plan:
    result = served.cli("plan", str(served.root), "--format", "json")
    assert result.exit_code in (0, 2), result.output
    return Plan.from_json(json.loads(result.stdout))


@pytest.mark.parametrize("provider", PROVIDERS)
def test_handlers_match_capabilities(provider: str) -> None:
    """Every operation a capability allows has a handler, and no handler does what one rules out."""
    cls = provider_class(provider)
    assert cls.name == provider
    assert dict(cls.capabilities) == dict(REGISTRY[provider].info.capabilities)
    assert missing_handlers(cls.capabilities, cls.handlers) == []


@pytest.mark.parametrize("provider", PROVIDERS)
def test_apply_then_plan_is_empty(provider: str, serve_repo: Callable[..., Served]) -> None:
    """After an apply of the sample config, a plan has nothing left to change."""
    served = serve_repo(provider)
    applied = served.cli("apply", str(served.root), "--auto-approve")
    assert applied.exit_code == 0, applied.output
    assert _plan(served).changes == ()
    assert check_converged(provider, served.emulator, _plan(served)) == []


@pytest.mark.parametrize("provider", PROVIDERS)
def test_export_then_plan_is_empty(provider: str, serve_repo: Callable[..., Served], tmp_path: Path) -> None:
    """An account exported to a resource file plans to no change when that file is the config."""
    served = serve_repo(provider)
    assert served.cli("apply", str(served.root), "--auto-approve").exit_code == 0
    account = next(iter(served.site.config.accounts))
    out = tmp_path / "exported"
    exported = served.cli("export", "--account", account, "--dir", str(out), "--config", str(served.root))
    assert exported.exit_code == 0, exported.output
    (served.root / "resources.yaml").unlink()
    (served.root / f"{account}.yaml").write_text((out / f"{account}.yaml").read_text(encoding="utf-8"))
    served.reload()
    plan = _plan(served)
    assert plan.changes == (), [c.address for c in plan.changes]


@pytest.mark.parametrize("provider", PROVIDERS)
def test_a_lost_create_answer_is_read_back(provider: str, serve_repo: Callable[..., Served]) -> None:
    """A create committed but answered with 500 is read back (or left uncertain where the type cannot
    be listed), never created twice: two applies converge with no duplicate."""
    served = serve_repo(provider, faults="commit-then-error:method=POST:times=1")
    first = served.cli("apply", str(served.root), "--auto-approve")
    assert served.emulator.faults.rules[0].fired == 1, first.output
    served.cli("apply", str(served.root), "--auto-approve", "--skip-unsupported")
    assert check_converged(provider, served.emulator, _plan(served)) == []


@pytest.mark.parametrize("provider", PROVIDERS)
def test_secrets_never_appear_in_any_output(
    provider: str, serve_repo: Callable[..., Served], tmp_path: Path
) -> None:
    """Credentials that are secrets appear in no output, log line, state file or saved plan."""
    served = serve_repo(provider, faults="seed=3,throttle:every=4,error:every=7")
    account = next(iter(served.site.config.accounts.values()))
    secrets = [
        value
        for key, value in account.credentials.items()
        if any(word in key for word in SECRET_KEYS) and value
    ]
    assert secrets
    texts = []
    for args in (
        ("-v", "validate", str(served.root)),
        ("-v", "plan", str(served.root), "--out", str(tmp_path / "plan.json")),
        ("-v", "plan", str(served.root), "--format", "json"),
        ("-v", "plan", str(served.root), "--format", "markdown"),
        ("-v", "apply", str(served.root), "--auto-approve"),
        ("-v", "state", "list", "--dir", str(served.root)),
    ):
        result = served.cli(*args)
        texts.append(result.output)
    texts.append((tmp_path / "plan.json").read_text(encoding="utf-8"))
    for path in served.state_path.parent.glob("*"):
        if path.is_file():
            texts.append(path.read_text(encoding="utf-8", errors="replace"))
    for text in texts:
        for secret in secrets:
            assert secret not in text


@pytest.mark.parametrize("provider", PROVIDERS)
def test_offline_item_rules_take_one_signature(provider: str) -> None:
    """validate_item is called as (type, attrs, now) for every provider: no signature inspection."""
    info = REGISTRY[provider].info
    if info.validate_item is None:
        return
    for type_ in info.capabilities:
        assert isinstance(info.validate_item(type_, {}, datetime(2026, 11, 22, tzinfo=UTC)), list)
