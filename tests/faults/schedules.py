"""Seeded random fault schedules against real emulators: the harness shared by the property test
(tests/faults/test_faults_schedules.py) and the benchmark (bench/fault_schedules.py).

One loopback server per process forwards to the current schedule's emulator (a fresh one per
schedule), so a schedule costs a few dozen HTTP requests and no server start. A schedule: a fault
spec generated from its seed, one in-process apply (engine.Run + planner + apply_plan + State),
at most one rerun with the faults switched off when the first did not fully succeed, then a check
of the emulator's data against the declared items and a final plan.
"""

from __future__ import annotations

import dataclasses
import random
import shutil
import tempfile
import textwrap
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from reconciler.apply import ApplyResult, apply_plan
from reconciler.changes import Action
from reconciler.config.load import load_config
from reconciler.config.types import Config
from reconciler.engine import Run
from reconciler.errors import ReconcilerError
from reconciler.plan import Plan
from reconciler.providers.base import REGISTRY, sandbox_ports
from reconciler.sandbox import emulator_class
from reconciler.sandbox.server import Emulator, Faults, Mount, Server
from reconciler.state import State

PROVIDERS = tuple(sandbox_ports())
# Derived from each provider's registration (reconciler/providers/<name>/__init__.py).
API_PATH = {name: reg.sandbox.api_path for name, reg in REGISTRY.items()}
ENV_NAMES = {name: dict(reg.sandbox.credential_env) for name, reg in REGISTRY.items()}
URL_ENV = {name: reg.sandbox.url_env for name, reg in REGISTRY.items()}
# Fixed emulator time (2026-11-22T12:00Z): every reminder and campaign below lies in the future.
EMULATOR_NOW = 1_795_348_800.0

# -- the declared configs (tiny: a schedule must cost milliseconds) --------------------------------
ROOT_YAML = {
    "intouch": """\
        version: 1
        defaults: {region: "NO"}
        accounts:
          oslo:
            provider: intouch
            url: ${INTOUCH_URL}
            credentials:
              {username: "${INTOUCH_USER}", domain: "${INTOUCH_DOMAIN}", password: "${INTOUCH_PASSWORD}"}
        safety: {max_update_percent: 100, max_delete_percent: 100}
        """,
    "intime": """\
        version: 1
        defaults: {region: SE}
        accounts:
          clinic:
            provider: intime
            url: ${INTIME_URL}
            credentials: {user: "${INTIME_USER}", hash: "${INTIME_HASH}"}
            prune: [blocklist]
        safety: {max_update_percent: 100, max_delete_percent: 100}
        """,
    "smsconnector": """\
        version: 1
        defaults: {region: GB}
        accounts:
          acme:
            provider: smsconnector
            region: GB
            number_validity: possible  # 07700 900xxx: Ofcom's drama range, never assigned
            url: ${SMSC_URL}
            credentials: {username: "${SMSC_USER}", password: "${SMSC_PASSWORD}"}
        safety: {max_update_percent: 100, max_delete_percent: 100}
        """,
}

RESOURCES_YAML = {
    "intouch": """\
        account: oslo
        groups:
          - name: Staff
            description: Everyone on the payroll
          - name: Customers
        contacts:
          - mobile: "+47 905 50 817"
            first_name: Ann
            last_name: Pedersen
            groups: [Staff, Customers]
          - mobile: "+47 905 50 818"
            first_name: Ole
            groups: [Staff]
          - mobile: "+47 412 34 567"
            first_name: Kari
            email: kari@example.no
            groups: [Customers]
        """,
    "intime": """\
        account: clinic
        groups:
          - name: Personal
          - name: Patienter
        contacts:
          - mobile: "070-123 45 67"
            first_name: Åsa
            last_name: Öberg
            groups: [Personal]
          - mobile: "0709876543"
            first_name: Anna
            last_name: Lind
            groups: [Patienter]
        blocklist:
          - mobile: "070-111 22 33"
        reminders:
          - name: anna-check-up
            appointment: 2030-01-12T08:30:00
            organizer: {title: Dr, first_name: Hans, last_name: Evertsson}
            attendant: {first_name: Anna, last_name: Lind, mobile: "0709876543"}
          - name: asa-cleaning
            appointment: 2030-01-14T13:15:00
            attendant: {first_name: Åsa, last_name: Öberg, mobile: "070-123 45 67"}
            active: false
        campaigns:
          - name: influensa
            sender: Tandklinik
            text: "Välkommen på influensavaccination 1-5 mars."
            marketing: false
            send_at: 2030-02-25T09:00:00
            to: {groups: [Patienter], numbers: ["+46 70 555 12 34"]}
          - name: personalmote
            sender: Tandklinik
            text: "Personalmöte fredag kl 8."
            marketing: false
            send_at: 2030-02-20T08:00:00
            # A direct number: a recipient even while the contacts are uncertain.
            to: {groups: [Personal], numbers: ["+46 70 555 00 01"]}
        """,
    "smsconnector": """\
        account: acme
        phone_lists:
          - name: VIP
            numbers: ["+447700900123", "07700 900456", "07700 900789"]
          - name: Newsletter
            folder: Marketing
            numbers: ["07700 900123", "07700 900234"]
        campaigns:
          - name: spring-preview
            text: "ACME spring preview: 20% off this weekend. Reply STOP to opt out."
            sender: "82830"
            brand: Acme
            send_at: 2030-03-06T09:00:00+00:00
            to: {phone_lists: [VIP]}
        """,
}

# What the emulators must hold afterwards, in their own inspection helpers' terms.
EXPECTED: dict[str, dict[str, Any]] = {
    "intouch": {
        "groups": {"Staff": "Everyone on the payroll", "Customers": None},
        "contacts": {
            "4790550817": ("Ann", "Pedersen", None),
            "4790550818": ("Ole", None, None),
            "4741234567": ("Kari", None, "kari@example.no"),
        },
        "members": {"Staff": {"4790550817", "4790550818"}, "Customers": {"4790550817", "4741234567"}},
    },
    "intime": {
        "groups": {"Personal", "Patienter"},
        "contacts": {
            "+46701234567": ("Åsa", "Öberg", {"Personal"}),
            "+46709876543": ("Anna", "Lind", {"Patienter"}),
        },
        "nix": {"46701112233"},
        "reminders": {
            ("+46709876543", "2030-01-12T08:30:00"): True,
            ("+46701234567", "2030-01-14T13:15:00"): False,
        },
        "campaigns": {
            "influensa": "Välkommen på influensavaccination 1-5 mars.",
            "personalmote": "Personalmöte fredag kl 8.",
        },
    },
    "smsconnector": {
        "lists": {
            "VIP": {"447700900123", "447700900456", "447700900789"},
            "Newsletter": {"447700900123", "447700900234"},
        },
        "campaigns": {"spring-preview": {"VIP"}},
    },
}


@dataclass
class Site:
    """A config repository for one provider whose account points at the shared server."""

    provider: str
    root: Path
    env: dict[str, str]
    config: Config

    @property
    def account(self) -> str:
        return next(iter(self.config.accounts))

    def with_state(self, path: Path) -> Config:
        return dataclasses.replace(self.config, state_path=path)


def write_site(provider: str, root: Path, server_url: str) -> Site:
    """Write reconciler.yaml + one resource file under ``root`` and load them."""
    _, credentials = emulator_class(provider)
    env = {ENV_NAMES[provider][k]: v for k, v in credentials.items()}
    env[URL_ENV[provider]] = server_url + API_PATH[provider]
    root.mkdir(parents=True, exist_ok=True)
    (root / "reconciler.yaml").write_text(textwrap.dedent(ROOT_YAML[provider]), encoding="utf-8")
    (root / "resources.yaml").write_text(textwrap.dedent(RESOURCES_YAML[provider]), encoding="utf-8")
    return Site(provider, root, env, load_config(root, env))


def reload_site(site: Site) -> Site:
    """The same repository loaded again (after a test rewrote a file)."""
    return dataclasses.replace(site, config=load_config(site.root, site.env))


def new_emulator(provider: str, faults: str | None = None, **options: Any) -> Emulator:
    """A fresh in-memory emulator; its clock stands still at EMULATOR_NOW unless ``clock=`` is given."""
    cls, _ = emulator_class(provider)
    options.setdefault("clock", lambda: EMULATOR_NOW)
    return cls(faults=faults, **options)


# -- fault schedules --------------------------------------------------------------------------------
def random_spec(seed: int) -> str:
    """A reproducible fault spec: a mix of throttles, 500s, drops and commit-then-500 on POSTs.

    Probabilities stay low enough that the bounded retries (6 attempts, 3 read-backs per create)
    converge in most runs; the rest must fail cleanly and converge on the rerun.
    """
    rng = random.Random(seed)
    rules = [f"seed={seed}"]
    if rng.random() < 0.6:
        rules.append(f"throttle:every={rng.randint(2, 7)}")
    if rng.random() < 0.6:
        rules.append(f"error:p={rng.choice((0.03, 0.06, 0.1, 0.15))}")
    if rng.random() < 0.5:
        rules.append(f"drop:p={rng.choice((0.03, 0.06, 0.1))}")
    if rng.random() < 0.7:
        rules.append(f"commit-then-error:p={rng.choice((0.05, 0.1, 0.2, 0.3))}:method=POST")
    if rng.random() < 0.2:
        rules.append("latency:ms=1:p=0.1")
    if len(rules) == 1:  # never a schedule without faults
        rules.append(f"commit-then-error:every={rng.randint(2, 5)}:method=POST")
    return ",".join(rules)


# -- one apply, in process ---------------------------------------------------------------------------
@dataclass
class Attempt:
    """What one in-process apply did: the plan, the apply result, or the error that stopped it."""

    plan: Plan | None = None
    result: ApplyResult | None = None
    error: str = ""

    @property
    def ok(self) -> bool:
        return not self.error and self.result is not None and self.result.ok


def apply_once(config: Config, *, parallelism: int = 1, continue_on_error: bool = False) -> Attempt:
    """Plan and apply everything applicable, as `apply --force --skip-unsupported --auto-approve` would."""
    attempt = Attempt()
    state = State.load(config.state_path)
    run = Run(config, state)
    try:
        attempt.plan = run.plan()
        if attempt.plan.errors:
            attempt.error = "; ".join(map(str, attempt.plan.errors))
            return attempt
        attempt.result = apply_plan(
            attempt.plan, run.providers, state, parallelism=parallelism, continue_on_error=continue_on_error
        )
    except ReconcilerError as exc:
        attempt.error = str(exc)
    finally:
        run.close()
        state.save()
    return attempt


def plan_once(config: Config) -> Plan:
    state = State.load(config.state_path)
    run = Run(config, state)
    try:
        return run.plan()
    finally:
        run.close()
        state.close()


# -- checks -----------------------------------------------------------------------------------------
def uncertain_keys(plan: Plan) -> set[tuple[str, str]]:
    """(type, key) of the changes a plan shows as uncertain creates."""
    return {
        (c.type, c.key)
        for c in plan.changes
        if c.action is Action.UNSUPPORTED and c.reason.startswith("uncertain")
    }


def check_final_plan(plan: Plan, may_be_uncertain: set[str]) -> list[str]:
    """The final plan is empty, except uncertain creates of the unlistable types in ``may_be_uncertain``."""
    problems = [f"final plan error: {e}" for e in plan.errors]
    for change in plan.changes:
        if (
            change.action is Action.UNSUPPORTED
            and change.reason.startswith("uncertain")
            and change.type in may_be_uncertain
        ):
            continue
        problems.append(f"final plan not empty: {change.action.value} {change.address} {change.reason}")
    return problems


def _dupes(values: list[Any]) -> list[Any]:
    return sorted((v for v, n in Counter(values).items() if n > 1), key=repr)


def check_intouch(emulator: Any, uncertain: set[tuple[str, str]]) -> list[str]:
    want = EXPECTED["intouch"]
    problems = []
    groups = emulator.groups()
    contacts = emulator.contacts()
    if dupes := _dupes([g["Name"] for g in groups]):
        problems.append(f"duplicate groups {dupes}")
    if dupes := _dupes([c["PhoneNumber"] for c in contacts]):
        problems.append(f"duplicate contacts {dupes}")
    have_groups = {g["Name"]: g.get("Description") for g in groups}
    if have_groups != want["groups"]:
        problems.append(f"groups {have_groups} != {want['groups']}")
    have_contacts = {
        c["PhoneNumber"]: (c.get("Firstname"), c.get("Lastname"), c.get("Email")) for c in contacts
    }
    if have_contacts != want["contacts"]:
        problems.append(f"contacts {have_contacts} != {want['contacts']}")
    number_of = {c["ContactId"]: c["PhoneNumber"] for c in contacts}
    have_members = {g["Name"]: {number_of[cid] for cid in emulator.members(g["GroupId"])} for g in groups}
    if have_members != want["members"]:
        problems.append(f"memberships {have_members} != {want['members']}")
    return problems


def check_intime(emulator: Any, uncertain: set[tuple[str, str]]) -> list[str]:
    want = EXPECTED["intime"]
    problems = []
    groups = emulator.groups()
    if dupes := _dupes([g["name"] for g in groups]):
        problems.append(f"duplicate groups {dupes}")
    if {g["name"] for g in groups} != want["groups"]:
        problems.append(f"groups {sorted(g['name'] for g in groups)} != {sorted(want['groups'])}")
    group_name = {g["id"]: g["name"] for g in groups}
    contacts = emulator.contacts()
    if dupes := _dupes([c["mobile"] for c in contacts]):
        problems.append(f"duplicate contacts {dupes}")
    have = {
        c["mobile"]: (c["firstname"], c["lastname"], {group_name.get(g) for g in c["groups"]})
        for c in contacts
    }
    for mobile, expected in want["contacts"].items():
        if mobile not in have:
            if ("contacts", mobile) not in uncertain:
                problems.append(f"contact {mobile} missing (and not shown as uncertain)")
        elif have[mobile] != expected:
            problems.append(f"contact {mobile}: {have[mobile]} != {expected}")
    if extra := set(have) - set(want["contacts"]):
        problems.append(f"undeclared contacts {sorted(extra)}")
    nix = [n["mobile"].lstrip("+").replace(" ", "").replace("-", "") for n in emulator.nix()]
    if dupes := _dupes(nix):
        problems.append(f"duplicate blocklist entries {dupes}")
    if set(nix) != want["nix"]:
        problems.append(f"blocklist {nix} != {want['nix']}")
    reminders = emulator.reminders()
    if dupes := _dupes([(r["attendant_mobile"], r["appointment"]) for r in reminders]):
        problems.append(f"duplicate reminders {dupes}")
    have_reminders = {(r["attendant_mobile"], r["appointment"]): r["active"] for r in reminders}
    if have_reminders != want["reminders"]:
        problems.append(
            f"reminders (attendant, appointment) -> active {have_reminders} != {want['reminders']}"
        )
    scheduled = [m["body"] for m in emulator.messages() if m["status"] == "scheduled"]
    for key, body in want["campaigns"].items():
        copies = scheduled.count(body)
        if copies > 1:
            problems.append(f"duplicate campaign {key}: {copies} scheduled messages")
        elif copies == 0 and ("campaigns", key) not in uncertain:
            problems.append(f"campaign {key} missing (and not shown as uncertain)")
    if extra := set(scheduled) - set(want["campaigns"].values()):
        problems.append(f"undeclared scheduled messages {sorted(extra)}")
    return problems


def check_smsconnector(emulator: Any, uncertain: set[tuple[str, str]]) -> list[str]:
    want = EXPECTED["smsconnector"]
    problems = []
    lists = emulator.lists()
    if dupes := _dupes([item["ListName"] for item in lists]):
        problems.append(f"duplicate phone lists {dupes}")
    name_of = {item["ListID"]: item["ListName"] for item in lists}
    have: dict[str, set[str]] = {}
    for item in lists:
        numbers = emulator.numbers(item["ListID"])
        digits = [
            "44" + n.replace(" ", "")[1:] if n.replace(" ", "").startswith("0") else n.lstrip("+")
            for n in numbers
        ]
        if dupes := _dupes(digits):
            problems.append(f"duplicate entries {dupes} in phone list {item['ListName']!r}")
        have[item["ListName"]] = set(digits)
    if have != want["lists"]:
        problems.append(f"phone lists {have} != {want['lists']}")
    campaigns = emulator.campaigns()
    if dupes := _dupes([c["title"] for c in campaigns]):
        problems.append(f"duplicate campaigns {dupes}")
    for title, lists_wanted in want["campaigns"].items():
        mine = [c for c in campaigns if c["title"] == title]
        if ("campaigns", title) in uncertain:
            if any(c["armed"] for c in mine):
                problems.append(f"campaign {title!r} is uncertain but was launched")
            continue
        if len(mine) != 1 or not mine[0]["armed"] or {name_of[i] for i in mine[0]["lists"]} != lists_wanted:
            problems.append(
                f"campaign {title!r}: {mine} is not one launched campaign linked to {lists_wanted}"
            )
    return problems


CHECKS: dict[str, Callable[[Any, set[tuple[str, str]]], list[str]]] = {
    "intouch": check_intouch,
    "intime": check_intime,
    "smsconnector": check_smsconnector,
}
# Types a provider cannot read back: an interrupted create of one may stay uncertain.
UNLISTABLE = {
    name: {type_ for type_, cap in reg.info.capabilities.items() if not cap.list.ok}
    for name, reg in REGISTRY.items()
}


def check_converged(provider: str, emulator: Any, final: Plan) -> list[str]:
    """Problems with the emulator's data and the final plan (empty list: converged, no duplicates)."""
    uncertain = uncertain_keys(final)
    return check_final_plan(final, UNLISTABLE[provider]) + CHECKS[provider](emulator, uncertain)


# -- one schedule -------------------------------------------------------------------------------------
@dataclass
class Report:
    """The outcome of one schedule."""

    provider: str
    seed: int
    spec: str
    first_ok: bool = False
    reran: bool = False
    uncertain: set[tuple[str, str]] = field(default_factory=set)
    faults_fired: int = 0
    problems: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)

    def describe(self) -> str:
        lines = [f"{self.provider} seed={self.seed} spec={self.spec!r}", *self.errors, *self.problems]
        return "\n  ".join(lines)


class Harness:
    """One loopback server and a config repository per provider, for many schedules in one process."""

    def __init__(self, workdir: Path) -> None:
        self.workdir = workdir
        self.switch = Mount()
        self.server = Server(self.switch).start()
        self.sites = {p: write_site(p, workdir / p, self.server.url) for p in PROVIDERS}
        self._runs = 0

    def close(self) -> None:
        self.server.stop()

    def mount(self, emulator: Emulator) -> None:
        self.switch.app = emulator

    def fresh_state(self, provider: str) -> Config:
        self._runs += 1
        path = self.workdir / "states" / f"{provider}-{self._runs}" / "state.json"
        return self.sites[provider].with_state(path)

    def run_schedule(self, provider: str, seed: int) -> Report:
        """Apply under the seed's faults, rerun once without faults if needed, then check."""
        spec = random_spec(seed)
        report = Report(provider, seed, spec)
        emulator = new_emulator(provider, spec)
        self.mount(emulator)
        config = self.fresh_state(provider)
        try:
            # Every other seed applies on threads, every third keeps going past failures.
            first = apply_once(config, parallelism=1 + 2 * (seed % 2), continue_on_error=seed % 3 == 0)
            report.first_ok = first.ok
            report.faults_fired = sum(rule.fired for rule in emulator.faults.rules)
            if not first.ok:
                report.errors.append(f"first apply: {_describe(first)}")
                emulator.faults = Faults.parse("")
                report.reran = True
                second = apply_once(config)
                if not second.ok:
                    report.errors.append(f"rerun: {_describe(second)}")
            emulator.faults = Faults.parse("")
            final = plan_once(config)
            report.uncertain = uncertain_keys(final)
            report.problems = check_converged(provider, emulator, final)
        finally:
            self.switch.app = None
            emulator.db.close()
            shutil.rmtree(config.state_path.parent, ignore_errors=True)
        return report


def _describe(attempt: Attempt) -> str:
    if attempt.error:
        return attempt.error
    assert attempt.result is not None
    failed = "; ".join(f"{c.address}: {why}" for c, why in attempt.result.failed)
    return f"{len(attempt.result.failed)} failed, {len(attempt.result.skipped)} skipped: {failed}"


@contextmanager
def harness() -> Iterator[Harness]:
    """A Harness in a temporary directory, stopped and removed afterwards."""
    workdir = Path(tempfile.mkdtemp(prefix="reconciler-faults-"))
    running = Harness(workdir)
    try:
        yield running
    finally:
        running.close()
        shutil.rmtree(workdir, ignore_errors=True)
