"""Property tests: whatever a config repository, state file, saved plan or provider answer holds,
loading it ends in a normal result or one clean error (a ReconcilerError whose message is one line),
never another exception and never a hang.

Case counts are set per target below (``EXAMPLES``); run with ``--hypothesis-show-statistics`` to see
how many ran. Provider answers are served over real loopback HTTP by the ``Hostile`` front, so the
real clients parse them exactly as they would a vendor's.
"""

from __future__ import annotations

import json
import string
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from reconciler.config.load import load_config
from reconciler.config.types import AccountConfig, Config
from reconciler.errors import ConfigError, ReconcilerError
from reconciler.plan import Plan, checksum
from reconciler.providers.base import provider_class
from reconciler.saved_plan import SavedPlan
from reconciler.state import State
from tests.e2e.conftest import API_PATH
from tests.hostile import Hostile, hostile_emulator

EXAMPLES = 150
FUZZ = settings(
    max_examples=EXAMPLES,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
    derandomize=True,
)
HASH = "0123456789abcdef0123456789abcdef01234567"

# -- strategies ----------------------------------------------------------------------------------------
scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(2**70), max_value=2**70),
    st.floats(allow_nan=True, allow_infinity=True),
    st.text(max_size=30),
    st.sampled_from(
        ["+46701234567", "070-123 45 6", "Staff", "\x1b[2J", "\u202e", "", "2030-01-01T08:00:00"]
    ),
)
json_values = st.recursive(
    scalars,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=12), inner, max_size=4),
    max_leaves=20,
)
FIELDS = [
    "name",
    "mobile",
    "first_name",
    "groups",
    "numbers",
    "text",
    "send_at",
    "to",
    "attendant",
    "email",
    "from_csv",
]
TYPES = ["groups", "contacts", "blocklist", "phone_lists", "reminders", "campaigns"]
# Items shaped like the real thing, with values of any type: the likeliest hostile input.
items = st.dictionaries(st.sampled_from(FIELDS), json_values, max_size=5)
resource_docs = st.fixed_dictionaries(
    {"account": st.sampled_from(["se-main", "nope", 5, None])},
    optional={t: st.lists(items, max_size=4) | json_values for t in TYPES},
)


def _json(value: Any) -> str:
    return json.dumps(value, allow_nan=True, default=str)


# -- config loader ---------------------------------------------------------------------------------------
ROOT = """\
version: 1
accounts:
  se-main:
    provider: intime
    credentials: {user: ops, hash: "${INTIME_HASH}"}
"""


def _clean_config_error(exc: ConfigError) -> None:
    assert exc.problems
    for problem in exc.problems:
        assert "\n" not in str(problem) and "\x1b" not in str(problem), str(problem)


@FUZZ
@given(doc=resource_docs | json_values)
def test_config_loader_shaped_documents(doc: Any) -> None:
    """Any YAML document in a resource file loads or gives ConfigError lines, nothing else."""
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        (root / "reconciler.yaml").write_text(ROOT, encoding="utf-8")
        (root / "items.yaml").write_text(yaml.safe_dump(doc, allow_unicode=True), encoding="utf-8")
        try:
            load_config(root, {"INTIME_HASH": HASH})
        except ConfigError as exc:
            _clean_config_error(exc)


@FUZZ
@given(
    data=st.binary(max_size=300)
    | st.text(alphabet=string.printable + "{}[]:&*!|>-'\"\u00e5\x00", max_size=300).map(str.encode)
)
def test_config_loader_raw_bytes(data: bytes) -> None:
    """Any bytes as reconciler.yaml (and as a resource file) end in a Config or ConfigError."""
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        (root / "reconciler.yaml").write_bytes(data)
        (root / "more.yaml").write_bytes(data)
        try:
            load_config(root, {"INTIME_HASH": HASH})
        except ConfigError as exc:
            _clean_config_error(exc)


# -- state loader ----------------------------------------------------------------------------------------
records = st.dictionaries(st.sampled_from(["id", "attrs", "x"]), json_values, max_size=3) | json_values
snapshots = st.fixed_dictionaries(
    {"format_version": st.sampled_from([1, 1, 1, 2, "1", None])},
    optional={
        "accounts": st.dictionaries(
            st.text(max_size=5),
            st.dictionaries(
                st.text(max_size=5),
                st.dictionaries(st.text(max_size=5), records, max_size=2) | json_values,
                max_size=2,
            )
            | json_values,
            max_size=2,
        )
        | json_values,
        "intents": st.lists(
            st.dictionaries(st.sampled_from(["account", "type", "key", "action", "at"]), json_values),
            max_size=2,
        )
        | json_values,
        "lineage": json_values,
        "serial": json_values,
    },
)
journal_lines = st.lists(
    st.dictionaries(
        st.sampled_from(["op", "account", "type", "key", "id", "attrs"]),
        st.sampled_from(["record", "forget", "intent", "resolve"]) | json_values,
        max_size=6,
    )
    | json_values,
    max_size=4,
)


@FUZZ
@given(snapshot=snapshots | json_values, journal=journal_lines)
def test_state_loader(snapshot: Any, journal: list[Any]) -> None:
    """Any JSON snapshot and journal load into a usable State or raise StateError."""
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "state.json"
        path.write_text(_json(snapshot), encoding="utf-8")
        path.with_name("state.json.journal").write_text(
            "".join(_json(e) + "\n" for e in journal), encoding="utf-8"
        )
        try:
            state = State.load(path)
        except ReconcilerError as exc:
            assert "\n" not in str(exc)
            return
        for account in state.data["accounts"]:  # what `state list` and the planner read
            for records_ in state.account(account).values():
                for record in records_.values():
                    record.get("id"), dict(record.get("attrs") or {})
        for intent in state.intents:
            intent["account"], intent["type"], intent["key"]


# -- saved-plan loader -----------------------------------------------------------------------------------
changes = st.lists(
    st.dictionaries(st.sampled_from(["account", "type", "key", "action", "after"]), json_values, max_size=5)
    | json_values,
    max_size=3,
)
plans = st.fixed_dictionaries(
    {"format_version": st.sampled_from([1, 1, 2])},
    optional={
        "meta": st.dictionaries(
            st.sampled_from(["root", "config", "accounts", "types", "live"]), json_values, max_size=5
        )
        | json_values,
        "changes": changes | json_values,
        "summary": json_values,
    },
)


@FUZZ
@given(plan=plans | json_values, sign=st.booleans())
def test_saved_plan_loader(plan: Any, sign: bool) -> None:
    """Any JSON file as a saved plan (checksummed or not) is read and checked, or refused on one line."""
    if sign and isinstance(plan, dict):
        plan["checksum"] = checksum(plan)
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "plan.json"
        path.write_text(_json(plan), encoding="utf-8")
        try:
            saved = SavedPlan.read(path)
            assert saved.root is None or isinstance(saved.root, str)  # read before the config loads
            config = Config(
                root=Path(tmp), accounts={}, desired={}, fingerprint=str(saved.data["meta"].get("config"))
            )
            saved.check_fresh(config, "lineage", Plan(changes=()))
        except ReconcilerError as exc:
            assert "\n" not in str(exc)


# -- provider answers over HTTP ----------------------------------------------------------------------------
def _answers(provider: str) -> st.SearchStrategy[tuple[int, bytes]]:
    shaped = {
        "intouch": st.lists(
            st.dictionaries(
                st.sampled_from(["GroupId", "ContactId", "Name", "PhoneNumber", "Settings"]),
                json_values,
                max_size=4,
            ),
            max_size=3,
        ),
        "smsconnector": st.fixed_dictionaries(
            {
                "StatusEnum": st.sampled_from([0, 1, 3, 5, "Success", None]),
                "Result": json_values
                | st.lists(
                    st.dictionaries(
                        st.sampled_from(["ListID", "ListName", "FolderID", "Name"]), json_values, max_size=3
                    ),
                    max_size=3,
                ),
            }
        ),
        "intime": st.just(None),
    }[provider]
    bodies = st.one_of(
        shaped.map(lambda v: _json(v).encode()),
        json_values.map(lambda v: _json(v).encode()),
        st.binary(max_size=200),
        st.sampled_from(
            [
                b"<html>OK</html>",
                b"1,2,3",
                b"0:ERROR3",
                b"2:ERROR1",
                b'<groups><group groupid="x">A</group></groups>',
                b"<nixentries><nixentry/></nixentries>",
                b"<reminderappointments><reminderappointment><appointmentId>q</appointmentId></reminderappointment></reminderappointments>",
                b"\x1b[2J" * 50,
            ]
        ),
    )
    return st.tuples(st.sampled_from([200, 200, 200, 201, 204, 301, 400, 404, 409, 500, 503]), bodies)


@pytest.fixture(scope="module")
def fronts() -> Iterator[dict[str, tuple[Hostile, str, dict[str, str]]]]:
    """One hostile front per provider for the whole module."""
    opened: dict[str, tuple[Hostile, str, dict[str, str]]] = {}
    contexts = []
    for provider in ("intouch", "intime", "smsconnector"):
        context = hostile_emulator(provider)
        front, server, _, credentials = context.__enter__()
        contexts.append(context)
        opened[provider] = (front, server.url + API_PATH[provider], credentials)
    yield opened
    for context in contexts:
        context.__exit__(None, None, None)


def _login(request: Any) -> bool:
    return "Security/Login" not in request.path


@pytest.mark.parametrize("provider", ["intouch", "intime", "smsconnector"])
def test_provider_answers(
    fronts: dict[str, tuple[Hostile, str, dict[str, str]]], provider: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Any status and body to a provider's reads and creates ends in data or one ProviderError line."""
    monkeypatch.setenv("RECONCILER_RETRY_ATTEMPTS", "1")
    front, url, credentials = fronts[provider]
    types = {
        "intouch": ["groups", "contacts", "memberships"],
        "intime": ["groups", "blocklist", "reminders"],
        "smsconnector": ["phone_lists"],
    }[provider]

    runs = []

    @FUZZ
    @given(answer=_answers(provider))
    def check(answer: tuple[int, bytes]) -> None:
        runs.append(answer)
        status, body = answer
        front.body(body, status=status, content_type="application/json", match=_login)
        account = AccountConfig(name="acct", provider=provider, region="SE", url=url, credentials=credentials)
        try:
            target = provider_class(provider)(account)
        except ReconcilerError:
            return
        try:
            target.read(types, {})
            client: Any = target.client  # type: ignore[attr-defined]
            if provider == "intouch":
                client.create_group({"Name": "G", "Description": None, "IsPrivate": False})
            elif provider == "intime":
                client.add_groups(["G"])
            else:
                client.create_list("G", 0)
        except ReconcilerError as exc:
            assert "\n" not in str(exc) and "\x1b" not in str(exc), str(exc)
        finally:
            target.close()

    check()
    assert len(runs) >= EXAMPLES  # every generated answer was served and parsed
