"""Hostile answers from a provider: huge, dripping, garbage, wrong shape, escape-laden, lying ids.

Each provider's emulator runs behind the ``Hostile`` front of tests/hostile.py on a loopback port;
the real CLI talks to it over HTTP. Whatever the server does, the CLI ends with one clear line
(never a traceback), quotes at most a few hundred characters of any body, shows control
characters escaped, and never prints a credential.
"""

from __future__ import annotations

import base64
import json
import textwrap
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner, Result

from reconciler.cli import main
from tests.e2e.conftest import API_PATH, ENV_NAMES, URL_ENV
from tests.faults.schedules import RESOURCES_YAML, ROOT_YAML
from tests.hostile import ESCAPES, Hostile, hostile_emulator, path_contains, posts

PROVIDERS = ("intouch", "intime", "smsconnector")
ACCOUNT = {"intouch": "oslo", "intime": "clinic", "smsconnector": "acme"}
MIB = 1024 * 1024


@dataclass
class Site:
    """A config repository whose one account talks to a hostile front."""

    provider: str
    root: Path
    env: dict[str, str]
    front: Hostile
    emulator: Any
    credentials: dict[str, str]

    def cli(self, *args: str) -> Result:
        return CliRunner(env=self.env).invoke(main, list(args), catch_exceptions=False)

    def plan(self) -> Result:
        return self.cli("plan", str(self.root))

    def apply(self) -> Result:
        return self.cli("apply", str(self.root), "--auto-approve")

    def secrets(self) -> list[str]:
        """Every credential that must never show, the Basic token and percent-encoded forms included."""
        values = [v for k, v in self.credentials.items() if k in ("password", "hash")]
        if self.provider == "intouch":
            c = self.credentials
            basic = f"{c['username']}@{c['domain']}:{c['password']}"
            values.append(base64.b64encode(basic.encode()).decode())
        return values

    def assert_clean(self, result: Result, limit: int = 1000) -> None:
        """No traceback, no credential, no raw escape, no line longer than ``limit``."""
        output = result.output
        assert "Traceback" not in output, output
        assert "\x1b" not in output and "\u202e" not in output, output
        assert max((len(line) for line in output.splitlines()), default=0) <= limit, output[:2000]
        for secret in self.secrets():
            assert secret not in output


@pytest.fixture
def site(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Any]:
    """A factory: ``site(provider, **account_options)`` -> a Site behind its own hostile front."""
    stack: list[Any] = []

    def make(provider: str, **options: Any) -> Site:
        context = hostile_emulator(provider)
        front, server, emulator, credentials = context.__enter__()
        stack.append(context)
        env = {ENV_NAMES[provider][k]: v for k, v in credentials.items()}
        env[URL_ENV[provider]] = server.url + API_PATH[provider]
        env["RECONCILER_RETRY_ATTEMPTS"] = "2"
        root = tmp_path / provider
        root.mkdir()
        text = textwrap.dedent(ROOT_YAML[provider])
        marker = f"    provider: {provider}\n"
        extra = "".join(f"    {key}: {json.dumps(value)}\n" for key, value in options.items())
        (root / "reconciler.yaml").write_text(text.replace(marker, marker + extra), encoding="utf-8")
        (root / "resources.yaml").write_text(textwrap.dedent(RESOURCES_YAML[provider]), encoding="utf-8")
        return Site(provider, root, env, front, emulator, credentials)

    yield make
    for context in reversed(stack):
        context.__exit__(None, None, None)


def _gets(request: Any) -> bool:
    return request.method == "GET" or "list" in request.path.lower() and request.method != "POST"


# -- item 4: a response size cap ---------------------------------------------------------------------
@pytest.mark.parametrize("provider", PROVIDERS)
@pytest.mark.parametrize("declared", [False, True], ids=["streamed", "content-length"])
def test_huge_answer_is_abandoned(site: Any, provider: str, declared: bool) -> None:
    """A 3 MiB answer to a read, over a 1 MiB max_response_bytes, ends in one line naming the cap."""
    hostile = site(provider, max_response_bytes=MIB)
    hostile.front.huge(3 * MIB, declare_length=declared, match=lambda r: r.method == "GET")
    result = hostile.plan()
    assert result.exit_code == 1, result.output
    assert "max_response_bytes (1,048,576" in result.output
    hostile.assert_clean(result)


@pytest.mark.parametrize("provider", PROVIDERS)
def test_huge_error_body_is_quoted_briefly(site: Any, provider: str) -> None:
    """A 3 MB error answer (a 400, JSON with a Message) is quoted in a few hundred characters at most."""
    hostile = site(provider)
    message = "A" * (3 * MIB)
    hostile.front.body(
        json.dumps({"Message": message}),
        status=400,
        content_type="application/json",
        match=lambda r: r.method == "GET",
    )
    result = hostile.plan()
    assert result.exit_code == 1, result.output
    assert "AAAAAAAAAA" in result.output or "HTTP 400" in result.output
    hostile.assert_clean(result)


# -- item 5: a deadline per request ------------------------------------------------------------------
@pytest.mark.timeout(60)
@pytest.mark.parametrize("provider", PROVIDERS)
def test_dripping_answer_hits_the_timeout(site: Any, provider: str) -> None:
    """Headers at once, then a byte every 0.2 s: with timeout 1 the plan stops with a timeout error."""
    hostile = site(provider, timeout=1)
    hostile.front.drip(every=0.2, limit=20, match=lambda r: r.method == "GET")
    result = hostile.plan()
    assert result.exit_code == 1, result.output
    assert "longer than the account's timeout (1s)" in result.output
    assert "after 2 attempt(s)" in result.output  # bounded retries
    hostile.assert_clean(result)


# -- item 3: an unreadable 200 to a create is uncertain, not failed ----------------------------------
def test_intime_contact_create_answered_html_stays_uncertain(site: Any) -> None:
    """contacts/add committed but answered <html>OK</html>: the next plan does not create it again."""
    hostile = site("intime")
    hostile.front.body("<html>OK</html>", match=path_contains("contacts/add.ashx"), forward=True)
    first = hostile.apply()
    assert first.exit_code == 1, first.output
    assert "unreadable answer '<html>OK</html>'" in first.output and "uncertain" in first.output
    hostile.assert_clean(first)
    hostile.front.rule = None
    plan = hostile.cli("plan", str(hostile.root), "--format", "json")
    changes = json.loads(plan.stdout)["changes"]
    contacts = [c for c in changes if c["type"] == "contacts"]
    assert contacts and all(c["action"] == "unsupported" for c in contacts), contacts
    assert all(c["reason"].startswith("uncertain") for c in contacts)
    assert len(hostile.emulator.contacts()) == 2  # committed once, never again


def test_smsconnector_campaign_create_answered_garbage_stays_uncertain(site: Any) -> None:
    """CreateCampaign committed but answered garbage: uncertain, not failed; nothing sent twice."""
    hostile = site("smsconnector")
    hostile.front.body("<html>OK</html>", match=path_contains("CreateCampaign"), forward=True)
    first = hostile.apply()
    assert first.exit_code == 1 and "uncertain" in first.output, first.output
    hostile.assert_clean(first)
    hostile.front.rule = None
    plan = hostile.cli("plan", str(hostile.root), "--format", "json")
    [change] = [c for c in json.loads(plan.stdout)["changes"] if c["type"] == "campaigns"]
    assert change["action"] == "unsupported" and change["reason"].startswith("uncertain")
    assert len(hostile.emulator.campaigns()) == 1


def test_intouch_group_create_answered_garbage_is_read_back(site: Any) -> None:
    """POST /groups committed but answered garbage: read back, found, counted applied; no duplicate."""
    hostile = site("intouch")
    hostile.front.body(
        "<html>OK</html>", match=lambda r: posts(r) and r.path.endswith("/groups"), forward=True
    )
    first = hostile.apply()
    hostile.assert_clean(first)
    hostile.front.rule = None
    plan = hostile.cli("plan", str(hostile.root), "--format", "json")
    assert plan.exit_code == 0, plan.output
    assert sorted(g["Name"] for g in hostile.emulator.groups()) == ["Customers", "Staff"]


# -- item 8: valid JSON of the wrong shape ------------------------------------------------------------
WRONG_SHAPES = {
    "intouch": [
        ("groups", '[{"Name": "no id"}]', "group without GroupId"),
        ("groups", "[1, 2, 3]", "expected group as an object"),
        ("groups", '"a string"', "expected a list of groups, got text"),
        ("contacts", '[{"ContactId": "7", "PhoneNumber": "+4790550817"}]', "contact ContactId is text"),
        ("user", "[]", "expected user as an object"),
    ],
    "smsconnector": [
        ("GetFolders", '{"StatusEnum": 0, "Status": "Success", "Result": [{"Name": "x"}]}', "folder without"),
        ("GetLists", '{"StatusEnum": 0, "Status": "Success", "Result": "lists"}', "expected a list of phone"),
        ("GetHeaders", '{"StatusEnum": 0, "Status": "Success", "Result": 5}', "expected a list of text"),
        ("GetLists", "[1, 2]", "without the StatusEnum envelope"),
    ],
    "intime": [
        ("listgroups", '<groups><group groupid="x">A</group></groups>', "without a numeric groupid"),
        ("listgroups", "<html>OK</html>", "the answer is <html>, expected a <groups> document"),
        ("nix/list", "[1, 2]", "not readable XML"),
    ],
}


@pytest.mark.parametrize(
    ("provider", "where", "body", "expected"),
    [(p, *case) for p, cases in WRONG_SHAPES.items() for case in cases],
)
def test_wrong_shape_is_one_clear_line(
    site: Any, provider: str, where: str, body: str, expected: str
) -> None:
    """Valid JSON (or XML) of the wrong shape is one error line naming the request, no traceback."""
    hostile = site(provider)
    hostile.front.body(body, content_type="application/json", match=path_contains(where))
    result = hostile.plan()
    assert result.exit_code == 1, result.output
    assert expected in result.output, result.output
    [line] = [line for line in result.output.splitlines() if line.startswith("Error:")]
    assert f"{provider}:" in line
    hostile.assert_clean(result)


def test_password_in_a_wrong_shape_is_not_printed(site: Any) -> None:
    """A wrong-shaped answer that carries the password (echoed in a field) never prints it."""
    hostile = site("intouch")
    password = hostile.credentials["password"]
    hostile.front.body(
        json.dumps([{"Name": password}]), content_type="application/json", match=path_contains("groups")
    )
    result = hostile.plan()
    assert result.exit_code == 1 and "group without GroupId" in result.output
    hostile.assert_clean(result)


# -- item 7: escapes in provider answers reach the terminal escaped ----------------------------------
@pytest.mark.parametrize("provider", PROVIDERS)
def test_escapes_in_an_error_body_are_shown_escaped(site: Any, provider: str) -> None:
    """An error body with ESC[2J, an OSC title and U+202E is printed with those characters escaped."""
    hostile = site(provider)
    body = json.dumps({"Message": ESCAPES}, ensure_ascii=False) if provider == "smsconnector" else ESCAPES
    hostile.front.body(body, status=400, content_type="text/plain", match=lambda r: r.method == "GET")
    result = hostile.plan()
    assert result.exit_code == 1, result.output
    hostile.assert_clean(result)


# -- item 9: create ids are verified before use ------------------------------------------------------
def test_intouch_group_create_answered_with_another_groups_id(site: Any) -> None:
    """POST /groups answered with an existing group's id: members still land in the right group."""
    from werkzeug.wrappers import Response

    hostile = site("intouch")
    customers = hostile.emulator.add_group("Customers")
    hostile.front.arm(
        lambda _: Response(str(customers), content_type="application/json"),
        match=lambda r: posts(r) and r.path.endswith("/groups"),
        forward=True,
    )
    result = hostile.apply()
    hostile.assert_clean(result)
    assert f"answered id {customers}" in result.output or result.exit_code == 0, result.output
    hostile.front.rule = None
    groups = {g["Name"]: g["GroupId"] for g in hostile.emulator.groups()}
    contacts = {c["ContactId"]: c["Firstname"] for c in hostile.emulator.contacts()}
    members = {
        name: sorted(contacts[c] for c in hostile.emulator.members(gid)) for name, gid in groups.items()
    }
    assert members == {"Staff": ["Ann", "Ole"], "Customers": ["Ann", "Kari"]}
    assert hostile.plan().exit_code == 0


def test_smsconnector_list_create_answered_with_another_lists_id(site: Any) -> None:
    """CreateList answered with the id of the list created just before: no numbers go to that list."""
    from werkzeug.wrappers import Response

    hostile = site("smsconnector")

    def first_list(_: Any) -> Response:
        first = min(info["ListID"] for info in hostile.emulator.lists())
        return Response(json.dumps({"StatusEnum": 0, "Status": "Success", "Result": first}))

    hostile.front.arm(first_list, match=path_contains("CreateList"), after=1, forward=True)
    first = hostile.apply()
    hostile.assert_clean(first)
    hostile.front.rule = None
    assert hostile.apply().exit_code == 0
    lists = {
        info["ListName"]: sorted(hostile.emulator.numbers(info["ListID"]))
        for info in hostile.emulator.lists()
    }
    assert lists == {
        "Newsletter": ["447700900123", "447700900234"],
        "VIP": ["447700900123", "447700900456", "447700900789"],
    }


def test_intime_group_create_answered_with_an_existing_id(site: Any) -> None:
    """addgroup answered with an existing group's id: contacts are created in the right groups."""
    from werkzeug.wrappers import Response

    hostile = site("intime")
    extra = hostile.emulator.add_group("Extra")

    def lying(_: Any) -> Response:
        newest = max(group["id"] for group in hostile.emulator.groups())
        return Response(f"{extra},{newest}", content_type="text/plain")

    hostile.front.arm(lying, match=path_contains("addgroup"), forward=True)
    result = hostile.apply()
    hostile.assert_clean(result)
    names = {group["id"]: group["name"] for group in hostile.emulator.groups()}
    placed = {c["firstname"]: [names[g] for g in c["groups"]] for c in hostile.emulator.contacts()}
    assert placed == {"Åsa": ["Personal"], "Anna": ["Patienter"]}, result.output


def test_escapes_in_live_names_are_shown_escaped(site: Any) -> None:
    """A live group named with ESC sequences and U+202E shows escaped in the plan's warning."""
    hostile = site("intouch")
    hostile.emulator.add_group(ESCAPES)
    result = hostile.plan()
    assert result.exit_code == 2, result.output
    assert "\\u001b[2J" in result.output or "\\x1b[2J" in result.output
    hostile.assert_clean(result)


def test_escapes_in_an_apply_failure_are_shown_escaped(site: Any) -> None:
    """A create refused with an escape-laden body is reported on a Failed: line with escapes shown."""
    hostile = site("intouch")
    hostile.front.body(ESCAPES, status=400, content_type="text/plain", match=posts)
    result = hostile.apply()
    assert result.exit_code == 1, result.output
    failed = [line for line in result.output.splitlines() if line.startswith("Failed:")]
    assert failed and "\\x1b[2J" in failed[0], failed
    hostile.assert_clean(result)
