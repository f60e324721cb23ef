"""The command-line contract: exit codes, options every command shares, offline validate, filters."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from reconciler.cli import main
from reconciler.state import State
from tests.e2e.conftest import Emu, make_repo

# Every command's usage errors (unknown command/option/value, missing argument, malformed
# address) exit 1: 2 means "changes present" / "drift found" and a CI job must not read a typo so.
USAGE_ERRORS = [
    [],
    ["plna"],
    ["--bogus"],
    ["validate", "--bogus"],
    ["validate", "one", "two"],
    ["validate", "a", "-C", "b"],
    ["plan", "--type", "contact"],
    ["plan", "--format", "xml"],
    ["plan", "--account"],
    ["apply", "--parallelism", "0"],
    ["apply", "no/such/dir/or/plan.json"],
    ["apply", "--lock-timeout", "soon"],
    ["drift", "--format", "xml"],
    ["drift", "--type", "everything"],
    ["state"],
    ["state", "lst"],
    ["state", "list", "--bogus"],
    ["state", "show"],
    ["state", "show", "not-an-address"],
    ["state", "rm", "a/b"],
    ["state", "mv", "a/groups/x", "b/groups/y"],
    ["state", "import", "a/groups/x"],
    ["state", "unlock", "extra"],
    ["export"],
    ["export", "--account", "a", "--type", "nope"],
    ["sandbox", "--port-base", "-1"],
    ["sandbox", "--faults"],
    ["schema"],
    ["schema", "nope"],
    ["schema", "plan", "--write", "out"],
]


@pytest.mark.parametrize("args", USAGE_ERRORS, ids=lambda a: " ".join(a) or "(no command)")
def test_usage_errors_exit_1(args: list[str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    """A usage error of any command exits 1 with click's usage message, never 2 and no traceback."""
    monkeypatch.chdir(tmp_path)
    result = CliRunner().invoke(main, args)
    assert result.exit_code == 1, (args, result.output)
    assert "Traceback" not in result.output
    assert "Usage:" in result.output or "Error:" in result.output


EXIT_CODES = [
    # (command, what the live account holds, expected exit code)
    (["validate"], "empty", 0),
    (["plan"], "empty", 2),
    (["plan"], "matching", 0),
    (["drift"], "empty", 2),
    (["drift"], "matching", 0),
    (["apply", "--auto-approve"], "empty", 0),
    (["state", "list"], "empty", 0),
    (["schema", "plan"], "empty", 0),
    (["plan"], "down", 1),
    (["drift"], "down", 1),
    (["apply", "--auto-approve"], "down", 1),
]


@pytest.mark.parametrize(
    "args,live,code", EXIT_CODES, ids=lambda v: " ".join(v) if isinstance(v, list) else v
)
def test_exit_code_contract(args: list[str], live: str, code: int, tmp_path: Path, intouch: Emu):
    """0 nothing to do / done, 2 changes or drift, 1 errors: per command, as docs/cli.md's table says."""
    repo = make_repo(tmp_path, {"oslo": ("intouch", intouch)}, region="NO")
    repo.write("groups.yaml", "account: oslo\ngroups:\n  - name: Staff\n")
    if live == "matching":
        intouch.emulator.add_group("Staff")
    if live == "down":
        repo.env = dict(repo.env, INTOUCH_URL="http://127.0.0.1:9/2")
    result = repo.cli(*args, "-C", str(tmp_path)) if args[0] != "schema" else repo.cli(*args)
    assert result.exit_code == code, result.output


@pytest.mark.parametrize(
    "args",
    [
        ["validate"],
        ["plan"],
        ["drift"],
        ["apply", "--auto-approve"],
        ["state", "list"],
        ["export", "--account", "oslo", "-o", "{out}"],
    ],
    ids=lambda a: a[0] if a[0] != "state" else "state list",
)
def test_every_command_takes_config_and_verbose_after_the_subcommand(
    args: list[str], tmp_path: Path, intouch: Emu, monkeypatch: pytest.MonkeyPatch
):
    """-C/--config names the config directory and -v/--no-color work after the subcommand."""
    config = tmp_path / "config"
    config.mkdir()
    repo = make_repo(config, {"oslo": ("intouch", intouch)}, region="NO")
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    monkeypatch.chdir(elsewhere)
    out = str(tmp_path / "out")
    result = repo.cli(*[a.replace("{out}", out) for a in args], "-C", str(config), "-v", "--no-color")
    assert result.exit_code == 0, result.output
    assert "INFO reconciler.config.load: load:" in result.stderr
    long = repo.cli(*[a.replace("{out}", out + "2") for a in args], "--config", str(config))
    assert long.exit_code == 0, long.output


def test_positional_directory_and_old_spellings_still_work(tmp_path: Path, intouch: Emu):
    """validate/plan/drift DIR, state --dir and export --dir/--config keep working as before."""
    repo = make_repo(tmp_path, {"oslo": ("intouch", intouch)}, region="NO")
    assert repo.cli("validate", str(tmp_path)).exit_code == 0
    assert repo.cli("plan", str(tmp_path)).exit_code == 0
    assert repo.cli("plan", str(tmp_path), "-C", str(tmp_path)).exit_code == 0  # the same directory twice
    assert repo.cli("state", "list", "--dir", str(tmp_path)).exit_code == 0
    out = tmp_path / "out"
    result = repo.cli("export", "--account", "oslo", "--dir", str(out), "--config", str(tmp_path))
    assert result.exit_code == 0 and (out / "oslo.yaml").is_file()


def test_validate_needs_no_credentials(tmp_path: Path, intouch: Emu):
    """With none of the variables set, validate exits 0 and says in one note which ones plan needs."""
    repo = make_repo(tmp_path, {"oslo": ("intouch", intouch)}, region="NO")
    repo.write("groups.yaml", "account: oslo\ngroups:\n  - name: Staff\n")
    repo.env = {name: None for name in repo.env}  # type: ignore[misc]  # CliRunner unsets None values
    result = repo.cli("validate", str(tmp_path))
    assert result.exit_code == 0, result.output
    notes = [line for line in result.stderr.splitlines() if line.startswith("Note: ")]
    assert len(notes) == 1
    assert "INTOUCH_URL" in notes[0] and "INTOUCH_PASSWORD" in notes[0] and "plan and apply do" in notes[0]
    assert "Valid: 2 file(s), 1 account(s), 1 resource(s)." in result.stdout
    plan = repo.cli("plan", str(tmp_path))
    assert plan.exit_code == 1 and "environment variable INTOUCH_PASSWORD is not set" in plan.stderr


def test_validate_checks_url_schemes_offline(tmp_path: Path, intouch: Emu):
    """Plain http to a remote host is a validate error naming file:line, with no network call."""
    repo = make_repo(tmp_path, {"oslo": ("intouch", intouch)}, region="NO")
    repo.env = dict(repo.env, INTOUCH_URL="http://intouchapi.pswin.com/2")
    result = repo.cli("validate", str(tmp_path))
    assert result.exit_code == 1
    first = result.stderr.splitlines()[0]
    assert first.endswith(
        "reconciler.yaml:6:10: accounts.oslo.url: refusing plain http to intouchapi.pswin.com: the "
        "credentials would travel in clear text (use https; http is allowed only to a loopback address "
        "such as 127.0.0.1)"
    )
    repo.env = dict(repo.env, INTOUCH_URL="ftp://intouchapi.pswin.com/2")
    assert "is not an http(s) URL" in repo.cli("validate", str(tmp_path)).stderr


def test_refused_connection_fails_fast_naming_account_url_and_hint(tmp_path: Path, intouch: Emu):
    """Nothing listening: two attempts, one line naming the account, the URL and what to check."""
    repo = make_repo(tmp_path, {"oslo": ("intouch", intouch)}, region="NO")
    repo.env = dict(repo.env, INTOUCH_URL="http://127.0.0.1:9/2", RECONCILER_RETRY_SCALE="1")
    result = repo.cli("plan", str(tmp_path))  # was 6 attempts with backoff, about 18 s
    assert result.exit_code == 1
    assert result.stderr.strip() == (
        "Error: account oslo: intouch: list groups: connection refused: nothing listens at 127.0.0.1:9 "
        "(check the account's url, or start the sandbox (`reconciler sandbox`)) after 2 attempt(s) at "
        "GET http://127.0.0.1:9/2/groups"
    )


def test_wrong_url_path_names_the_url(tmp_path: Path, intouch: Emu):
    """A 404 from a wrong API path names the URL and the account, and hints at the url setting."""
    repo = make_repo(tmp_path, {"oslo": ("intouch", intouch)}, region="NO")
    repo.env = dict(repo.env, INTOUCH_URL=intouch.url.replace("/2", "/v9"))
    result = repo.cli("plan", str(tmp_path))
    assert result.exit_code == 1
    assert result.stderr.startswith("Error: account oslo: intouch: list groups: HTTP 404 not found at GET ")
    assert "/v9/groups" in result.stderr and "check the account's url" in result.stderr


def test_type_filter_memberships_and_types_no_account_has(tmp_path: Path, intouch: Emu):
    """--type memberships plans memberships only; --type blocklist on an Intouch account is an error."""
    repo = make_repo(tmp_path, {"oslo": ("intouch", intouch)}, region="NO")
    intouch.emulator.add_group("Staff")
    intouch.emulator.add_contact("4790550817")
    repo.write(
        "people.yaml",
        "account: oslo\ngroups:\n  - name: Staff\n"
        "contacts:\n  - mobile: '+4790550817'\n    groups: [Staff]\n",
    )
    plan = repo.cli("plan", str(tmp_path), "--type", "memberships", "--format", "json")
    assert plan.exit_code == 2, plan.output
    assert {c["type"] for c in json.loads(plan.stdout)["changes"]} == {"memberships"}
    bad = repo.cli("plan", str(tmp_path), "--type", "blocklist")
    assert bad.exit_code == 1
    assert bad.stderr.strip() == (
        "Error: --type blocklist: no account in scope supports it (oslo (intouch)); "
        "choose another type or account"
    )


def test_state_show_reads_a_number_address_as_e164(tmp_path: Path, intouch: Emu):
    """state show/rm find a contact written in national format, as the state records it in E.164."""
    repo = make_repo(tmp_path, {"oslo": ("intouch", intouch)}, region="NO")
    state = tmp_path / ".reconciler" / "state.json"
    current = State.load(state)
    current.record("oslo", "contacts", "+4790550817", "17", {"mobile": "+4790550817"})
    current.save()
    current.close()
    shown = repo.cli("state", "show", "oslo/contacts/905 50 817", "-C", str(tmp_path))
    assert shown.exit_code == 0, shown.output
    assert json.loads(shown.stdout)["id"] == "17"
    removed = repo.cli("state", "rm", "oslo/contacts/+47 905 50 817", "-C", str(tmp_path))
    assert removed.exit_code == 0, removed.output
    assert "+4790550817" not in state.read_text(encoding="utf-8")


def test_apply_saved_plan_from_another_directory_hints_config(
    tmp_path: Path, intouch: Emu, monkeypatch: pytest.MonkeyPatch
):
    """A saved plan applied from elsewhere says to name the config with --config, and works with it."""
    config = tmp_path / "config"
    config.mkdir()
    repo = make_repo(config, {"oslo": ("intouch", intouch)}, region="NO")
    repo.write("groups.yaml", "account: oslo\ngroups:\n  - name: Staff\n")
    monkeypatch.chdir(config)
    assert repo.cli("plan", "--out", str(tmp_path / "plan.json")).exit_code == 2
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    monkeypatch.chdir(elsewhere)
    result = repo.cli("apply", str(tmp_path / "plan.json"))
    assert result.exit_code == 1
    assert "--config" in result.stderr and "reconciler apply" in result.stderr
    done = repo.cli("apply", str(tmp_path / "plan.json"), "--config", str(config))
    assert done.exit_code == 0, done.output
    assert [g["Name"] for g in intouch.emulator.groups()] == ["Staff"]


def test_exclude_globs_leave_other_yaml_alone(tmp_path: Path, intouch: Emu):
    """YAML files matching exclude: globs are not resource files; without exclude they are errors."""
    repo = make_repo(tmp_path, {"oslo": ("intouch", intouch)}, region="NO")
    repo.write("docker-compose.yml", "services:\n  web: {image: nginx}\n")
    repo.write("ci/pipeline.yaml", "stages: [test]\n")
    repo.write("groups.yaml", "account: oslo\ngroups:\n  - name: Staff\n")
    before = repo.cli("validate", str(tmp_path))
    assert before.exit_code == 1 and "docker-compose.yml" in before.stderr
    root = (tmp_path / "reconciler.yaml").read_text(encoding="utf-8")
    repo.write("reconciler.yaml", root + 'exclude: ["docker-compose.yml", "ci/**"]\n')
    after = repo.cli("validate", str(tmp_path))
    assert after.exit_code == 0, after.output
    assert "Valid: 2 file(s), 1 account(s), 1 resource(s)." in after.stdout
    repo.write("reconciler.yaml", root + "exclude: [42]\n")
    wrong = repo.cli("validate", str(tmp_path))
    assert wrong.exit_code == 1 and "exclude" in wrong.stderr


def test_apply_without_terminal_prints_one_line_per_change(tmp_path: Path, intouch: Emu):
    """In a CI log (no terminal) every applied change gets one plain line on stdout."""
    repo = make_repo(tmp_path, {"oslo": ("intouch", intouch)}, region="NO")
    repo.write("groups.yaml", "account: oslo\ngroups:\n  - name: Staff\n  - name: Board\n")
    result = repo.cli("apply", str(tmp_path), "--auto-approve")
    assert result.exit_code == 0, result.output
    lines = [line for line in result.stdout.splitlines() if line.startswith("Applied: ")]
    assert sorted(lines) == ["Applied: create oslo/groups/Board", "Applied: create oslo/groups/Staff"]
    assert "\x1b[" not in result.output


def test_repeated_warnings_are_counted_once_and_listed_with_v(tmp_path: Path, intouch: Emu):
    """Forty unmanaged groups give one counted warning line; -v lists every one."""
    repo = make_repo(tmp_path, {"oslo": ("intouch", intouch)}, region="NO")
    for i in range(40):
        intouch.emulator.add_group(f"Old{i:02d}")
    result = repo.cli("plan", str(tmp_path))
    warnings = [line for line in result.stdout.splitlines() if line.startswith("Warning: ")]
    assert len(warnings) == 1
    assert warnings[0].startswith(
        "Warning: oslo/groups: 40 items: unmanaged: exists live but is not declared"
    )
    assert warnings[0].endswith("(Old00, Old01, Old02 and 37 more; -v lists them all)")
    verbose = repo.cli("plan", str(tmp_path), "-v")
    assert len([line for line in verbose.stdout.splitlines() if line.startswith("Warning: ")]) == 40


def test_export_says_what_it_cannot_read_back(tmp_path: Path, intime: Emu):
    """Exporting an InTime account with no state notes the contacts and campaigns it cannot list."""
    repo = make_repo(tmp_path, {"clinic": ("intime", intime)})
    result = repo.cli("export", "--account", "clinic", "-C", str(tmp_path), "-o", str(tmp_path / "out"))
    assert result.exit_code == 0, result.output
    notes = [line for line in result.stderr.splitlines() if line.startswith("Note: ")]
    assert any(n.startswith("Note: contacts: not exported: intime cannot list them") for n in notes)
    assert any(n.startswith("Note: campaigns: not exported: intime cannot list them") for n in notes)
    text = (tmp_path / "out" / "clinic.yaml").read_text(encoding="utf-8")
    assert text.startswith("# Note: ")


def test_schema_prints_and_writes_the_schemas(tmp_path: Path):
    """`schema NAME` prints one schema; `schema --write DIR` writes all of them, each with its $id."""
    runner = CliRunner()
    printed = runner.invoke(main, ["schema", "resources"])
    assert printed.exit_code == 0
    assert json.loads(printed.stdout)["$id"].endswith("/schemas/resources.schema.json")
    written = runner.invoke(main, ["schema", "--write", str(tmp_path / "s")])
    assert written.exit_code == 0, written.output
    names = sorted(p.name for p in (tmp_path / "s").iterdir())
    assert names == [
        "drift.schema.json",
        "plan.schema.json",
        "reconciler.schema.json",
        "resources.schema.json",
    ]
    root = Path(__file__).resolve().parents[2] / "schemas"
    for name in names:
        assert (tmp_path / "s" / name).read_bytes() == (root / name).read_bytes()


def test_nothing_extra_on_stderr_in_a_pipe(tmp_path: Path, intouch: Emu):
    """Without a terminal, plan prints the plan on stdout and nothing on stderr (no progress)."""
    repo = make_repo(tmp_path, {"oslo": ("intouch", intouch)}, region="NO")
    repo.write("groups.yaml", "account: oslo\ngroups:\n  - name: Staff\n")
    result = repo.cli("plan", "-C", str(tmp_path))
    assert result.exit_code == 2
    assert result.stderr == ""
    assert result.stdout.startswith("Account oslo:")


def test_shell_completion_offers_account_names(tmp_path: Path, intouch: Emu):
    """Completing --account lists the accounts of the config named with -C."""
    repo = make_repo(tmp_path, {"oslo": ("intouch", intouch), "bergen": ("intouch", intouch)}, region="NO")
    words = f"reconciler plan -C {tmp_path} --account "
    env = dict(repo.env, _RECONCILER_COMPLETE="bash_complete", COMP_WORDS=words, COMP_CWORD="5")
    result = CliRunner(env=env).invoke(main, [], prog_name="reconciler")
    assert sorted(result.stdout.split()) == ["plain,bergen", "plain,oslo"]


def test_logging_is_redacted_without_verbose(tmp_path: Path, intouch: Emu, monkeypatch: pytest.MonkeyPatch):
    """Without -v the root logger still has the redacting handler at WARNING (not Python's fallback)."""
    import logging

    monkeypatch.setattr(logging.getLogger(), "handlers", [])  # as in a fresh process
    repo = make_repo(tmp_path, {"oslo": ("intouch", intouch)}, region="NO")
    assert repo.cli("validate", "-C", str(tmp_path)).exit_code == 0
    handlers = logging.getLogger().handlers
    assert any(type(f).__name__ == "_Redacting" for h in handlers for f in h.filters)
    assert logging.getLogger().level == logging.WARNING
