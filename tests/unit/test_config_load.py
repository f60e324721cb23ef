"""load_config on good repositories: normalized desired resources, accounts, files, fingerprint, secrets."""

from __future__ import annotations

import dataclasses
import re
import shutil
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from reconciler import secrets
from reconciler.config import accounts as accounts_module
from reconciler.config.load import load_config
from reconciler.config.types import Config, Safety, SafetyBlock
from reconciler.errors import ConfigError
from reconciler.model import Origin
from reconciler.providers.base import provider_info

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "config"
NOW = datetime(2026, 11, 22, 12, 0, tzinfo=UTC)
ENV = {
    "INTIME_HASH": "0123456789abcdef0123456789abcdef01234567",
    "INTOUCH_URL": "http://127.0.0.1:8080",
    "INTOUCH_PASSWORD": "sandbox-intouch-password",
    "UK_PASSWORD": "sandbox-smsconnector-password",
}


@pytest.fixture
def good(monkeypatch: pytest.MonkeyPatch) -> Config:
    """The good fixture repository, loaded with paths shown relative to the fixtures directory."""
    monkeypatch.chdir(FIXTURES)
    return load_config(Path("good"), ENV, now=NOW)


def attrs(config: Config, account: str, type_: str) -> dict[str, Any]:
    """key -> attrs of one (account, type) of ``config``."""
    return {key: dict(resource.attrs) for key, resource in config.desired[(account, type_)].items()}


def test_good_config_loads_normalized_resources(good: Config) -> None:
    """Numbers become E.164, strings are stripped, emails lower-cased, group lists sorted sets."""
    contacts = attrs(good, "se-main", "contacts")
    assert contacts["+46701234567"] == {
        "mobile": "+46701234567",
        "first_name": "John",
        "last_name": "Svensson",
        "email": "john.svensson@company.se",
        "groups": ["Customers", "Staff"],
    }
    assert contacts["+46701234599"] == {"mobile": "+46701234599", "first_name": "Ann"}
    assert contacts["only.email@example.com"] == {"email": "only.email@example.com"}
    assert attrs(good, "se-main", "groups") == {
        "Staff": {"name": "Staff"},
        "Customers": {"name": "Customers"},
    }
    assert attrs(good, "no-main", "contacts") == {
        "+4791234567": {
            "mobile": "+4791234567",
            "first_name": "Kari",
            "description2": "VIP",
            "groups": ["Kunder"],
        }
    }
    assert attrs(good, "uk", "phone_lists")["VIP customers"]["numbers"] == ["+447700900123", "+447700900456"]
    assert attrs(good, "uk", "phone_lists")["VIP customers"]["folder"] == 12


def test_csv_rows_become_contacts_with_row_origins(good: Config) -> None:
    """from_csv rows load like YAML contacts: groups split on ';', empty cells unset, origin = csv row."""
    desired = good.desired[("se-main", "contacts")]
    assert dict(desired["+46702222222"].attrs) == {
        "mobile": "+46702222222",
        "first_name": "Cai, Jr",
        "last_name": "Carlsson",
        "groups": ["Customers", "Staff"],
    }
    assert dict(desired["+46703333333"].attrs) == {"mobile": "+46703333333", "first_name": "Dan"}
    assert desired["+46703333333"].origin == Origin("good/se/bulk/customers.csv", 5, 1)
    assert desired["+46701234567"].origin == Origin("good/se/people.yaml", 3, 5)


def test_dates_are_normalized_with_the_provider_timezone(good: Config) -> None:
    """Reminder appointments stay local; campaign send_at becomes UTC; `$` in texts stays literal."""
    reminder = attrs(good, "se-main", "reminders")["anna-dentist-dec"]
    assert reminder["appointment"] == "2026-12-01T08:30:00"
    assert reminder["attendant"]["mobile"] == "+46709876543"
    campaign = attrs(good, "se-main", "campaigns")["winter-sale"]
    assert campaign["send_at"] == "2026-12-05T08:00:00Z"
    assert "Pay $5 less" in campaign["text"]
    assert campaign["to"] == {"groups": ["Customers"], "numbers": ["+46701234568"]}
    assert attrs(good, "uk", "campaigns")["vip-preview"]["send_at"] == "2026-12-06T09:00:00Z"


def test_resources_carry_account_type_key_and_no_ident(good: Config) -> None:
    """Every desired Resource is keyed as in the map and has no provider id."""
    for (account, type_), items in good.desired.items():
        for key, resource in items.items():
            assert (resource.account, resource.type, resource.key, resource.ident) == (
                account,
                type_,
                key,
                None,
            )
            assert resource.origin is not None and resource.origin.line > 0


def test_accounts_settings_state_and_safety(good: Config) -> None:
    """Accounts get expanded urls and credentials, regions, prune sets; state and safety are read."""
    se, no, uk = good.accounts["se-main"], good.accounts["no-main"], good.accounts["uk"]
    assert (se.provider, se.region, se.url, se.prune) == ("intime", "SE", None, frozenset({"blocklist"}))
    assert dict(se.credentials) == {"user": "demo", "hash": ENV["INTIME_HASH"]}
    assert (no.region, no.url, no.rate_limit) == ("NO", "http://127.0.0.1:8080/2", 120)
    assert uk.region == "GB" and uk.origin == Origin("good/reconciler.yaml", 18, 3)
    assert good.safety == Safety(SafetyBlock({"max_update_percent": 50, "min_existing": 5}))
    assert good.state_path == Path("good") / "state" / "main.json"
    assert good.root == Path("good")


def test_files_are_discovered_sorted_without_hidden_dirs(good: Config) -> None:
    """Files lists every file read (YAML and CSV), sorted; .git/ and .reconciler/ are never read."""
    assert good.files == (
        "no.yaml",
        "notes/empty.yaml",
        "reconciler.yaml",
        "se/bulk/customers.csv",
        "se/groups.yml",
        "se/people.yaml",
        "uk.yaml",
    )


def test_empty_resource_file_is_a_warning(good: Config) -> None:
    """A resource file without content loads, with one warning naming it."""
    assert [str(p) for p in good.warnings] == [
        "good/notes/empty.yaml:1:1: file declares nothing (add account: and resources, or delete the file)"
    ]
    assert good.warnings[0].severity == "warning"


def test_fingerprint_covers_files_not_environment(tmp_path: Path) -> None:
    """The fingerprint changes with a CSV byte, not with environment values, and not with the location."""
    repo = tmp_path / "repo"
    shutil.copytree(FIXTURES / "good", repo)
    first = load_config(repo, ENV, now=NOW).fingerprint
    other_env = dict(ENV, INTIME_HASH="ffffffffffffffffffffffffffffffffffffffff")
    assert load_config(repo, other_env, now=NOW).fingerprint == first
    moved = tmp_path / "moved"
    shutil.copytree(repo, moved)
    assert load_config(moved, ENV, now=NOW).fingerprint == first
    csv = repo / "se" / "bulk" / "customers.csv"
    csv.write_text(csv.read_text().replace("Berg", "Borg"))
    assert load_config(repo, ENV, now=NOW).fingerprint != first
    assert len(first) == 64


def test_state_path_defaults_under_root(tmp_path: Path) -> None:
    """Without state:, the state file is .reconciler/state.json in the config directory; safety defaults apply."""
    (tmp_path / "reconciler.yaml").write_text("version: 1\naccounts: {}\n")
    config = load_config(tmp_path, {}, now=NOW)
    assert config.state_path == tmp_path / ".reconciler" / "state.json"
    assert config.safety == Safety()
    assert config.desired == {} and config.files == ("reconciler.yaml",)


def test_credentials_are_registered_and_never_shown(tmp_path: Path) -> None:
    """Credential values are secrets as soon as loading starts; no problem line contains one."""
    secret = "very-secret-password-4711"
    (tmp_path / "reconciler.yaml").write_text(
        "version: 1\naccounts:\n  a:\n    provider: intouch\n"
        "    url: ftp://user:${PW}@example.com/2\n"
        "    credentials: {username: '${PW}', domain: d, password: '${PW}', extra: '${PW}'}\n"
    )
    (tmp_path / "a.yaml").write_text("account: a\ncontacts:\n  - mobile: '1'\n")
    with pytest.raises(ConfigError) as caught:
        load_config(tmp_path, {"PW": secret}, now=NOW)
    assert secret not in str(caught.value)
    assert "accounts.a.url: 'ftp://***@" in str(caught.value)  # the host may be a registered secret too
    assert all(secret not in p.message for p in caught.value.problems)
    assert secrets.redact(f"x {secret} y") == "x *** y"


def test_validate_item_problems_point_at_the_attribute(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """Problems from ProviderInfo.validate_item are placed at the attribute's node, with now passed on."""
    seen: list[datetime] = []

    def rules(type_: str, item: Any, now: datetime) -> list[tuple[str, str]]:
        seen.append(now)
        return (
            [("organizer.title", "titles are not allowed here (remove it)")] if type_ == "reminders" else []
        )

    info = dataclasses.replace(provider_info("intime"), validate_item=rules)
    monkeypatch.setattr(accounts_module, "provider_info", lambda name: info)
    (tmp_path / "reconciler.yaml").write_text(
        "version: 1\naccounts:\n  se:\n    provider: intime\n    credentials: {user: u, hash: h}\n"
    )
    (tmp_path / "r.yaml").write_text(
        "account: se\nreminders:\n  - name: r1\n    appointment: 2026-12-01T08:30:00\n"
        "    organizer:\n      title: Dr\n    attendant: {mobile: '0709876543'}\n"
    )
    monkeypatch.chdir(tmp_path)
    with pytest.raises(ConfigError) as caught:
        load_config(Path("."), {}, now=NOW)
    assert (
        str(caught.value)
        == "r.yaml:6:14: reminders[0].organizer.title: titles are not allowed here (remove it)"
    )
    assert seen == [NOW]


def test_unquoted_numbers_keep_their_digits(tmp_path: Path) -> None:
    """mobile: 0701234567 (unquoted, YAML would read an octal-looking int) keeps its leading zero."""
    (tmp_path / "reconciler.yaml").write_text(
        "version: 1\ndefaults: {region: NO}\naccounts:\n  no:\n    provider: intouch\n"
        "    credentials: {username: u, domain: d, password: 12345}\n"
    )
    (tmp_path / "c.yaml").write_text(
        "account: no\ncontacts:\n  - mobile: 0047 912 34 567\n  - mobile: 41234567\n"
    )
    config = load_config(tmp_path, {}, now=NOW)
    assert set(config.desired[("no", "contacts")]) == {"+4791234567", "+4741234567"}
    assert config.accounts["no"].region == "NO"
    assert config.accounts["no"].credentials["password"] == "12345"


def test_many_contacts_load(tmp_path: Path) -> None:
    """20,000 contacts in 100 groups load whole (load time and its scaling: bench/plan_scale.py)."""
    lines = ["account: se", "groups:"] + [f"  - name: G{g}" for g in range(100)] + ["contacts:"]
    for i in range(20_000):
        lines += [f'  - mobile: "+4670{i:07d}"', f"    first_name: F{i}", f"    groups: [G{i % 100}]"]
    (tmp_path / "big.yaml").write_text("\n".join(lines) + "\n")
    (tmp_path / "reconciler.yaml").write_text(
        "version: 1\naccounts:\n  se:\n    provider: intouch\n    credentials: {username: u, domain: d, password: p}\n"
    )
    config = load_config(tmp_path, {}, now=NOW)
    assert len(config.desired[("se", "contacts")]) == 20_000
    assert config.desired[("se", "contacts")]["+46700019999"].attrs["first_name"] == "F19999"


def test_discovery_skips_hidden_and_state_directories(tmp_path: Path) -> None:
    """.git/, .venv/, .reconciler/, hidden files and non-YAML files are never read as resource files."""
    shutil.copytree(FIXTURES / "good", tmp_path / "repo")
    repo = tmp_path / "repo"
    for hidden in (".git/x.yaml", ".venv/lib/y.yml", ".reconciler/state.yaml", "se/.draft.yaml"):
        (repo / hidden).parent.mkdir(parents=True, exist_ok=True)
        (repo / hidden).write_text("not: [valid\n")
    (repo / "readme.txt").write_text("not: [valid\n")
    config = load_config(repo, ENV, now=NOW)
    assert all(not part.startswith(".") for name in config.files for part in name.split("/"))
    assert "readme.txt" not in config.files


def test_examples_load(monkeypatch: pytest.MonkeyPatch) -> None:
    """Every example repository loads, with placeholder values for the variables it uses."""
    examples = Path(__file__).resolve().parents[2] / "examples"
    roots = sorted(path.parent for path in examples.glob("*/reconciler.yaml"))
    for root in roots:
        names = set()
        for path in root.rglob("*.y*ml"):
            names |= set(re.findall(r"\$\{([A-Za-z_][A-Za-z0-9_]*)\}", path.read_text()))
        env = {
            name: "https://127.0.0.1:1" if name.endswith("URL") else f"placeholder-{name}" for name in names
        }
        config = load_config(root, env, now=NOW)
        assert config.desired, root


def test_validation_lets_go_of_each_raw_item_once_it_moves_on() -> None:
    """Resources.check walks a document's items with _consumed: the item in hand is there, the
    ones before it are let go (a big file's raw items are not all held while the desired ones are
    built)."""
    from reconciler.config.validate import _consumed

    items: list[object] = [{"a": 1}, {"b": 2}, {"c": 3}]
    seen = []
    for index, raw in _consumed(items):
        assert items[index] is raw and all(slot is None for slot in items[:index])
        seen.append(raw)
    assert seen == [{"a": 1}, {"b": 2}, {"c": 3}] and items == [None, None, None]

