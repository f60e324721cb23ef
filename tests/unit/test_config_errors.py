"""Every kind of bad config gives one exact ``file:line:col: message`` line per problem, and all of them.

Each case is a tiny config repository under ``tests/fixtures/config/bad-<case>/``.
"""

from __future__ import annotations

import tracemalloc
from datetime import UTC, datetime
from pathlib import Path

import pytest

from reconciler.config.load import load_config
from reconciler.errors import ConfigError

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "config"
NOW = datetime(2026, 11, 22, 12, 0, tzinfo=UTC)
ENV = {
    "INTIME_HASH": "0123456789abcdef0123456789abcdef01234567",
    "UK_PASSWORD": "sandbox-smsconnector-password",
}

EXPECTED: dict[str, list[str]] = {
    "bad-alias-bomb": [
        "bad-alias-bomb/groups.yaml:2:4: YAML anchors and aliases are not supported: anchor '&a' (9 anchors and 72 aliases in this file; write each value out in full)",
    ],
    "bad-control-character": [
        "bad-control-character/groups.yaml:3:17: character #x0001 is not allowed in YAML (remove it)",
    ],
    "bad-csv-row": [
        "bad-csv-row/people/customers.csv:3:1: row has 3 cells but the header has 4 (quote cells that contain commas)",
        "bad-csv-row/people/customers.csv:4:33: groups in row 4: group 'VIP' is not declared (declare it under groups: for account se-main, or fix the name)",
        "bad-csv-row/people/customers.csv:5:1: mobile in row 5: '070-1' is not a valid phone number for region SE (write it with + and the country code, or check the account's region)",
    ],
    "bad-csv-source": [
        "bad-csv-source/contacts.yaml:3:15: contacts[0].from_csv: cannot read 'missing.csv': No such file or directory (the path is relative to this YAML file)",
        "bad-csv-source/contacts.yaml:4:15: contacts[1].from_csv: '../../outside.csv' is outside the config directory (keep CSV files inside it)",
        "bad-csv-source/contacts.yaml:5:5: contacts[2]: a from_csv entry takes no other fields, found groups (put them in CSV columns)",
        "bad-csv-source/vip.csv:1:8: column 'description2': provider intime does not support field 'description2' for contacts (supported: description, email, first_name, groups, last_name, mobile; remove the column)",
    ],
    "bad-date": [
        "bad-date/reminders.yaml:4:18: reminders[0].appointment: '2026-13-01T08:30:00' is not a date-time (write 2026-12-01T08:30:00)",
        "bad-date/reminders.yaml:9:14: campaigns[0].send_at: 'next friday' is not a date-time (write 2026-12-05T09:00:00+01:00)",
    ],
    "bad-duplicate-key": [
        "bad-duplicate-key/contacts.yaml:4:5: contacts[1]: duplicate contacts key '+46701234567' for account se-main (also declared at bad-duplicate-key/contacts.yaml:3:5; remove one)",
    ],
    "bad-duplicate-key-across-files": [
        "bad-duplicate-key-across-files/more/b.yaml:4:5: groups[1]: duplicate groups key 'Staff' for account se-main (also declared at bad-duplicate-key-across-files/a.yaml:3:5; remove one)",
    ],
    "bad-duplicate-mapping-key": [
        "bad-duplicate-mapping-key/contacts.yaml:5:5: duplicate key 'first_name' (first written on line 4; remove one)",
    ],
    "bad-empty-resource-key": [
        "bad-empty-resource-key/groups.yaml:3:5: groups[0] has an empty name (give it a name)",
        "bad-empty-resource-key/groups.yaml:5:5: contacts[0] has neither mobile nor email (add one of them)",
    ],
    "bad-empty-root": [
        "bad-empty-root/reconciler.yaml:1:1: reconciler.yaml is empty (start it with version: 1 and accounts:)",
    ],
    "bad-invalid-number": [
        "bad-invalid-number/numbers.yaml:4:13: contacts[1].mobile: '070-12' is not a valid phone number for region SE (write it with + and the country code, or check the account's region)",
        "bad-invalid-number/numbers.yaml:6:13: blocklist[0].mobile: '12345678901234567' is not a valid phone number for region SE (write it with + and the country code, or check the account's region)",
    ],
    "bad-message": [
        "bad-message/campaigns.yaml:7:13: campaigns[0].sender: sender 'ACME Shop Ltd' is 13 characters long (an alphanumeric sender has at most 11 characters of A-Z a-z 0-9, space, '.', '-' and '+', a numeric one at most 15 digits)",
        "bad-message/campaigns.yaml:8:14: campaigns[0].send_at: send_at is 2026-12-06 20:00 in Europe/London, outside the account's sending window 08:30-20:00 (move it inside, or change quiet_hours on the account)",
        "bad-message/campaigns.yaml:11:11: campaigns[1].text: the text takes 7 segments as GSM-7 (915 septets), over the limit of 6 for SMSConnector campaigns (shorten it)",
        "bad-message/campaigns.yaml:12:13: campaigns[1].sender: sender '4470012345678901' has 16 digits (a numeric sender has at most 15)",
        "bad-message/reconciler.yaml:6:18: accounts.se-main.quiet_hours: '09:00-09:00' is an empty window (to allow every hour, write quiet_hours: false)",
        "bad-message/reconciler.yaml:7:15: accounts.se-main.timezone: 'Europe/Atlantis' is not a time zone (write an IANA name such as Europe/Stockholm)",
    ],
    "bad-missing-credential": [
        "bad-missing-credential/reconciler.yaml:5:5: accounts.se-main.credentials is missing 'hash' (provider intime needs: user, hash; write hash: ${ENV_VAR})",
        "bad-missing-credential/reconciler.yaml:7:7: accounts.se-main.credentials: unknown key 'pasword' for provider intime (expected: user, hash)",
    ],
    "bad-missing-env": [
        "bad-missing-env/reconciler.yaml:5:10: accounts.se-main.url: environment variable INTIME_URL is not set (export INTIME_URL=... before running reconciler)",
    ],
    "bad-missing-root": [
        "bad-missing-root/reconciler.yaml: no reconciler.yaml in bad-missing-root (create it with version: 1 and accounts:, or pass the config directory)",
    ],
    "bad-non-utf8": [
        "bad-non-utf8/contacts.yaml:4:18: file is not valid UTF-8: byte 0xf6 cannot be read (save the file as UTF-8)",
    ],
    "bad-not-a-mapping": [
        "bad-not-a-mapping/groups.yaml:1:1: the file must hold a mapping of keys (key: value), not a list (see the config reference)",
    ],
    "bad-prune-type": [
        "bad-prune-type/reconciler.yaml:5:26: accounts.uk.prune[1]: provider smsconnector does not support groups, so it cannot be pruned (prune only: campaigns, phone_lists)",
        "bad-prune-type/reconciler.yaml:5:34: accounts.uk.prune[2]: 'contact' is not a resource type (choose one of: groups, contacts, blocklist, phone_lists, reminders, campaigns)",
    ],
    "bad-region": [
        "bad-region/reconciler.yaml:3:11: defaults.region: 'UK' is not a known country code (did you mean GB? write an ISO 3166 code such as SE, NO, GB)",
        "bad-region/reconciler.yaml:7:13: accounts.se-main.region: 'Sweden' is not a two-letter country code (write an ISO 3166 code such as SE, NO, GB)",
    ],
    "bad-several-documents": [
        "bad-several-documents/groups.yaml:4:1: several YAML documents in one file (keep one per file: split it into several files)",
    ],
    "bad-several-files": [
        "bad-several-files/blocklist.yaml:4:4: invalid YAML: did not find expected '-' indicator (check indentation, quotes and brackets)",
        "bad-several-files/groups.yaml:4:5: unknown field 'colour' in groups[0] (allowed: description, name, protect)",
        "bad-several-files/reconciler.yaml:7:23: safety.max_update_percent must be at most 100, not 150 (change the number)",
    ],
    "bad-smsconnector-credentials": [
        "bad-smsconnector-credentials/reconciler.yaml:5:5: accounts.uk.credentials needs one of password or reusable_token for provider smsconnector (add password: ${ENV_VAR})",
    ],
    "bad-ignore": [
        "bad-ignore/reconciler.yaml:7:16: accounts.uk.ignore[0].type: provider smsconnector does not support contacts (ignore only: campaigns, phone_lists)",
        "bad-ignore/reconciler.yaml:8:38: accounts.uk.ignore[1].fields[0]: 'name' is not a field smsconnector phone_lists can ignore (fields: folder, numbers; to hide whole items use key:)",
        "bad-ignore/reconciler.yaml:8:44: accounts.uk.ignore[1].fields[1]: 'colour' is not a field smsconnector phone_lists can ignore (fields: folder, numbers; to hide whole items use key:)",
        "bad-ignore/reconciler.yaml:9:9: accounts.uk.ignore[2] needs key or fields (add key: ...)",
        "bad-ignore/uk.yaml:3:5: phone_lists[0]: phone_lists 'form-signups' is hidden by the ignore rule {type: phone_lists, key: 'form-*'} at bad-ignore/reconciler.yaml:10:9 (remove the item, or narrow the rule's key)",
    ],
    "bad-safety": [
        "bad-safety/reconciler.yaml:7:7: accounts.uk.safety.contacts: provider smsconnector does not support contacts (set limits only for: campaigns, phone_lists)",
        "bad-safety/reconciler.yaml:8:7: unknown field 'max_delete' in accounts.uk.safety (did you mean 'max_deletes'? allowed: blocklist, campaigns, contacts, groups, max_delete_percent, max_deletes, max_update_percent, min_existing, phone_lists, reminders)",
        "bad-safety/reconciler.yaml:10:28: safety.campaigns.max_deletes must be at least 0, not -1 (change the number)",
    ],
    "bad-syntax": [
        "bad-syntax/contacts.yaml:3:1: invalid YAML: did not find expected ',' or ']' (check indentation, quotes and brackets)",
    ],
    "bad-tab": [
        "bad-tab/groups.yaml:4:1: tab character in indentation (YAML indents with spaces only)",
    ],
    "bad-three-problems": [
        "bad-three-problems/contacts.yaml:6:14: contacts[0].groups[0]: group 'Sales' is not declared (declare it under groups: for account se-main, or fix the name)",
        "bad-three-problems/contacts.yaml:7:13: contacts[1].mobile: 'not a number' is not a valid phone number for region SE (write it with + and the country code, or check the account's region)",
        "bad-three-problems/contacts.yaml:9:5: unknown field 'lastname' in contacts[2] (did you mean 'last_name'? allowed: description, description2, description3, email, first_name, from_csv, groups, last_name, mobile, protect)",
    ],
    "bad-undeclared-group": [
        "bad-undeclared-group/contacts.yaml:6:21: contacts[0].groups[1]: group 'Staf' is not declared (declare it under groups: for account se-main, or fix the name)",
    ],
    "bad-undeclared-phone-list": [
        "bad-undeclared-phone-list/uk.yaml:10:29: campaigns[0].to.phone_lists[1]: phone list 'V.I.P.' is not declared (declare it under phone_lists: for account uk, or fix the name)",
    ],
    "bad-unknown-account": [
        "bad-unknown-account/groups.yaml:1:10: account: unknown account 'se-mian' (did you mean 'se-main'? accounts in reconciler.yaml: se-main)",
    ],
    "bad-unknown-field": [
        "bad-unknown-field/contacts.yaml:6:5: unknown field 'frist_name' in contacts[1] (did you mean 'first_name'? allowed: description, description2, description3, email, first_name, from_csv, groups, last_name, mobile, protect)",
    ],
    "bad-unknown-provider": [
        "bad-unknown-provider/reconciler.yaml:4:15: accounts.se-main.provider: unknown provider 'twilio' (choose one of: intime, intouch, smsconnector)",
    ],
    "bad-unknown-top-level-key": [
        "bad-unknown-top-level-key/groups.yaml:2:1: unknown top-level key 'group' (did you mean 'groups'? allowed: account, blocklist, campaigns, contacts, groups, phone_lists, reminders)",
    ],
    "bad-unsupported-field": [
        "bad-unsupported-field/contacts.yaml:4:5: contacts[0].description2: provider intime does not support field 'description2' for contacts (supported: description, email, first_name, groups, last_name, mobile; remove it)",
    ],
    "bad-unsupported-type": [
        "bad-unsupported-type/uk.yaml:2:1: groups: account uk uses provider smsconnector, which does not support groups (supported: campaigns, phone_lists; remove groups from this file or use another account)",
    ],
    "bad-version": [
        "bad-version/reconciler.yaml:1:10: version must be 1, not 2 (this reconciler reads version 1)",
    ],
    "bad-wrong-type": [
        "bad-wrong-type/contacts.yaml:6:13: contacts[0].groups must be a list, not a string (write [a, b] or one '- item' per line)",
    ],
    "bad-yaml-tag": [
        "bad-yaml-tag/groups.yaml:3:11: YAML tag '!!python/object:os.system' is not supported (remove it)",
    ],
}


def problems_of(case: str, monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Load fixture ``case`` (paths shown relative to the fixtures directory) and return its problem lines."""
    monkeypatch.chdir(FIXTURES)
    with pytest.raises(ConfigError) as caught:
        load_config(Path(case), ENV, now=NOW)
    return str(caught.value).splitlines()


@pytest.mark.parametrize("case", sorted(EXPECTED))
def test_bad_config_reports_every_problem_exactly(case: str, monkeypatch: pytest.MonkeyPatch) -> None:
    """A bad fixture repository raises ConfigError whose lines are exactly the expected problems."""
    assert problems_of(case, monkeypatch) == EXPECTED[case]


def test_every_bad_fixture_has_an_expectation() -> None:
    """Each bad-<case> directory under the fixtures is covered by the table above."""
    cases = {path.name for path in FIXTURES.iterdir() if path.name.startswith("bad-")}
    assert cases == set(EXPECTED)


def test_problem_lines_are_single_lines_with_a_fix(monkeypatch: pytest.MonkeyPatch) -> None:
    """Every message says how to fix it (ends with a parenthesis) and never spans lines."""
    for case in EXPECTED:
        with pytest.raises(ConfigError) as caught:
            monkeypatch.chdir(FIXTURES)
            load_config(Path(case), ENV, now=NOW)
        for problem in caught.value.problems:
            assert "\n" not in problem.message
            assert problem.message.endswith(")"), problem


def test_alias_bomb_is_rejected_without_expanding(monkeypatch: pytest.MonkeyPatch) -> None:
    """The billion-laughs file is refused from its first anchor, counted but never expanded."""
    tracemalloc.start()
    try:
        problems = problems_of("bad-alias-bomb", monkeypatch)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert problems == EXPECTED["bad-alias-bomb"]
    assert peak < 50 * 1024 * 1024  # expanded, the nine levels of aliases would be ~10^9 nodes


def test_three_problems_give_three_lines(monkeypatch: pytest.MonkeyPatch) -> None:
    """A repository with three independent problems reports all three, one line each."""
    assert len(problems_of("bad-three-problems", monkeypatch)) == 3
    assert len(problems_of("bad-several-files", monkeypatch)) == 3


def test_absolute_root_outside_cwd_shows_absolute_paths(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A root outside the current directory is shown as given (absolute)."""
    monkeypatch.chdir(tmp_path)
    with pytest.raises(ConfigError) as caught:
        load_config(FIXTURES / "bad-version", ENV, now=NOW)
    assert str(caught.value).startswith(
        f"{FIXTURES / 'bad-version' / 'reconciler.yaml'}:1:10: version must be 1"
    )


def test_missing_directory_is_one_clear_error(tmp_path: Path) -> None:
    """A config directory that does not exist gives one problem naming it."""
    with pytest.raises(ConfigError) as caught:
        load_config(tmp_path / "nowhere", ENV, now=NOW)
    assert len(caught.value.problems) == 1
    assert str(caught.value) == (
        f"{tmp_path / 'nowhere'}: the config directory does not exist (pass the directory that holds reconciler.yaml)"
    )
