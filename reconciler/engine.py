"""One run against the accounts of a config: open providers, refresh live state, plan, apply.

This is the glue the CLI calls; it owns no policy of its own beyond ordering the steps:
``load -> validate -> read live -> plan -> render -> confirm -> apply``.
"""

from __future__ import annotations

import hashlib
import json
import logging
import threading
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from reconciler.config.types import Config
from reconciler.errors import Problem, ProviderError, ReconcilerError
from reconciler.gcpause import gc_paused
from reconciler.ignore import filter_live
from reconciler.model import Resource
from reconciler.pii import number_masker
from reconciler.plan import Fingerprints, Plan
from reconciler.planner import Target, diff
from reconciler.pool import cancel_on
from reconciler.protect import guard, protected
from reconciler.providers.base import Provider, provider_class, provider_info
from reconciler.sms import audience
from reconciler.state import State
from reconciler.types import in_scope

log = logging.getLogger(__name__)

Live = dict[tuple[str, str], dict[str, Resource]]
Desired = dict[tuple[str, str], Mapping[str, Resource]]
Notify = Callable[[str], None]
Failures = dict[tuple[str, str], str]


def _utcnow() -> datetime:
    return datetime.now(UTC)


@dataclass
class Run:
    """Providers opened for the accounts in scope of one command, closed by :meth:`close`."""

    config: Config
    state: State
    accounts: tuple[str, ...] = ()
    types: frozenset[str] | None = None
    now: Callable[[], datetime] = _utcnow
    providers: dict[str, Provider] = field(default_factory=dict)
    live_counts: dict[tuple[str, str], int] = field(default_factory=dict)
    live: Live = field(default_factory=dict)  # what the last plan read, for the applier's id maps
    _prefetch: _Prefetch | None = field(default=None, init=False, repr=False)

    def __post_init__(self) -> None:
        unknown = [a for a in self.accounts if a not in self.config.accounts]
        if unknown:
            choices = ", ".join(sorted(self.config.accounts))
            raise ReconcilerError(
                f"--account {unknown[0]!r} is not in reconciler.yaml (choose from: {choices})"
            )
        if not self.accounts:
            self.accounts = tuple(sorted(self.config.accounts))

    def targets(self) -> list[Target]:
        targets = []
        for name in self.accounts:
            account = self.config.accounts[name]
            info = provider_info(account.provider)
            cls = provider_class(account.provider)
            targets.append(
                Target(
                    name,
                    account.provider,
                    info.capabilities,
                    account.prune,
                    cls.refine,
                    self.types,
                    cls.expand,
                )
            )
        return targets

    def provider(self, name: str) -> Provider:
        if name not in self.providers:
            account = self.config.accounts[name]
            self.providers[name] = provider_class(account.provider)(account)
        return self.providers[name]

    def prefetch(self) -> None:
        """Start the refresh in a background thread; the next :meth:`refresh` waits for its result.

        What a refresh reads depends on the accounts and the scope only, not on the resource files,
        so a plan starts it as soon as ``reconciler.yaml`` is read and loads the resource files
        meanwhile (:meth:`adopt` then hands over the full config). At 100,000 contacts that hides
        the seconds spent waiting for the provider. :meth:`close` abandons a refresh still running.
        """
        if self._prefetch is None:
            self._prefetch = _Prefetch(self)

    def adopt(self, config: Config) -> None:
        """Continue with ``config``, the full load of the config this run was started from."""
        if dict(config.accounts) != dict(self.config.accounts):
            raise ReconcilerError("the accounts changed while the config was loading; run the command again")
        self.config = config

    def refresh(self, notify: Notify | None = None, failures: Failures | None = None) -> Live:
        """Read the live state of every listable type in scope, without what ignore rules hide.

        A failed read raises, unless ``failures`` is given: then each type of an account whose read
        failed is read again on its own, and the ones that still fail are recorded there as
        ``(account, type) -> reason`` and left out of the result (drift audits report them).
        A refresh started by :meth:`prefetch` is waited for and used (once, without ``failures``).
        """
        early, self._prefetch = self._prefetch, None
        if early is not None:
            if failures is None:
                return early.result(notify)
            early.abandon()
        with gc_paused():
            return self._refresh(notify, failures)

    def _refresh(self, notify: Notify | None, failures: Failures | None) -> Live:
        live: Live = {}
        for target in self.targets():
            types = [t for t, cap in target.capabilities.items() if cap.list.ok and in_scope(t, target.types)]
            if not types:
                continue
            if notify:
                notify(f"refreshing {target.account} ({target.provider}): {', '.join(types)}")
            try:
                got = self._read(target.account, types)
            except ReconcilerError as exc:
                if failures is None:
                    raise
                log.warning("refresh: account=%s failed: %s; reading type by type", target.account, exc)
                for type_ in types:
                    try:
                        live.update(self._read(target.account, [type_]))
                    except ReconcilerError as one:
                        failures[(target.account, type_)] = str(one)
                continue
            live.update(got)
            if notify:
                counts = ", ".join(f"{len(items):,} {type_}" for (_, type_), items in got.items())
                notify(f"read {target.account}: {counts or 'nothing'}")
        return live

    def _read(self, account: str, types: list[str]) -> Live:
        try:
            read = self.provider(account).read(types, self.state.account(account))
        except ProviderError as exc:
            raise _in_account(exc, account) from None
        rules = self.config.accounts[account].ignore
        return {
            (account, type_): _by_key(account, type_, filter_live(rules, type_, items))
            for type_, items in read.items()
        }

    def check(self, live: Live, failures: Failures | None = None) -> list[Problem]:
        """The providers' plan-time checks. With ``failures`` (see :meth:`refresh`), an account
        whose reads all failed is not checked, and a check that fails is a warning."""
        problems: list[Problem] = []
        for target in self.targets():
            desired = {t: items for (a, t), items in self.config.desired.items() if a == target.account}
            mine = {t: list(items.values()) for (a, t), items in live.items() if a == target.account}
            records = self.state.account(target.account)
            if failures is None:
                try:
                    problems += self.provider(target.account).check(desired, mine, records)
                except ProviderError as exc:
                    raise _in_account(exc, target.account) from None
                continue
            if failures and not mine and any(a == target.account for a, _ in failures):
                continue
            try:
                problems += self.provider(target.account).check(desired, mine, records)
            except ReconcilerError as exc:
                message = f"{target.account}: the provider's checks could not run: {exc}"
                problems.append(Problem(message, severity="warning"))
        return problems

    def audit(self, live: Live) -> tuple[Desired, list[Problem], dict[tuple[str, str, str], dict[str, Any]]]:
        """Audience checks of the message items in scope (reconciler.sms.audience): the desired
        state as the planner should see it, the problems, and the impact of each message item."""
        desired: Desired = dict(self.config.desired)
        problems: list[Problem] = []
        impacts: dict[tuple[str, str, str], dict[str, Any]] = {}
        mask = number_masker(self.config.root)  # the tags of the masked reports
        for target in self.targets():
            sending = provider_info(target.provider).sending
            if sending is None or (target.types is not None and sending.type not in target.types):
                continue
            mine = {t: items for (a, t), items in self.config.desired.items() if a == target.account}
            if not mine.get(sending.type):
                continue
            seen = {t: items for (a, t), items in live.items() if a == target.account}
            reported = self.provider(target.account).opt_outs({t: list(i.values()) for t, i in seen.items()})
            opted = audience.opt_outs(sending, mine, seen, reported)
            policy = self.config.accounts[target.account].policy
            found = audience.audit(sending, policy, target.capabilities, mine, seen, opted, mask)
            desired[(target.account, sending.type)] = found.desired
            problems += found.problems
            impacts.update({(target.account, sending.type, k): v for k, v in found.impacts.items()})
        return desired, problems, impacts

    def plan(
        self, notify: Notify | None = None, failures: Failures | None = None, *, fingerprint_live: bool = True
    ) -> Plan:
        """Refresh, check and diff: the plan for the accounts and types in scope.

        ``fingerprint_live=False`` leaves the live hash out of ``meta`` (only a saved plan needs
        it, and hashing 100,000 items costs more than half a second). The garbage collector is
        paused meanwhile (:mod:`reconciler.gcpause`). With ``failures`` (drift audits), a type
        whose read fails is recorded there instead of failing the run; the plan then treats it as
        empty, so callers must disregard its changes. The live items read stay in :attr:`live`.
        """
        with gc_paused():
            return self._plan(notify, failures, fingerprint_live)

    def _plan(self, notify: Notify | None, failures: Failures | None, fingerprint_live: bool) -> Plan:
        live = self.refresh(notify, failures)
        self.live_counts = {where: len(items) for where, items in live.items()}
        problems = self.check(live, failures)
        try:
            desired, found, impacts = self.audit(live)
        except ReconcilerError as exc:
            if failures is None:
                raise
            desired, impacts = dict(self.config.desired), {}
            found = [Problem(f"the audience checks could not run: {exc}", severity="warning")]
        now = self.now()
        plan = diff(
            desired,
            live,
            _state_view(self.state, self.accounts),
            self.targets(),
            now,
            errors=problems + found,
            created_at=now.strftime("%Y-%m-%dT%H:%M:%SZ"),
            intents=[i for i in self.state.intents if i["account"] in self.accounts],
            fingerprints=self.fingerprints(live if fingerprint_live else None),
        )
        plan = audience.attach(plan, impacts)
        self.live = live
        # A protected item may be neither deleted nor replaced (see reconciler.protect).
        return guard(plan, protected(self.config, self.state, self.accounts))

    def fingerprints(self, live: Live | None) -> Fingerprints:
        """What a saved plan needs to detect staleness: config hash, state lineage, scope, and the
        live hash per account/type (left out when ``live`` is None). A state file not written yet
        has no lineage to hold a plan to; the serials of the accounts in scope
        refuse a plan once another run wrote one of them."""
        return Fingerprints(
            config=self.config.fingerprint,
            live=live_fingerprint(live) if live is not None else None,
            state_lineage=self.state.lineage if self.state.persisted else "",
            state_serials=self.state.serials(self.accounts),
            accounts=tuple(self.accounts),
            types=tuple(sorted(self.types)) if self.types is not None else None,
        )

    def close(self) -> None:
        early, self._prefetch = self._prefetch, None
        if early is not None:
            early.abandon()
        for provider in self.providers.values():
            try:
                provider.close()
            except ProviderError as exc:
                log.warning("closing %s: %s", provider.account.name, exc)
        self.providers.clear()


class _Prefetch:
    """A refresh running in a background thread (see :meth:`Run.prefetch`).

    The thread owns the run's providers until :meth:`result` or :meth:`abandon` has joined it.
    Progress messages wait in a list until someone asks for the result, then go to its ``notify``.
    """

    def __init__(self, run: Run) -> None:
        self._cancel = threading.Event()
        self._lock = threading.Lock()
        self._messages: list[str] = []
        self._notify: Notify | None = None
        self._live: Live | None = None
        self._error: BaseException | None = None
        self._thread = threading.Thread(target=self._work, args=(run,), name="refresh", daemon=True)
        self._thread.start()

    def _work(self, run: Run) -> None:
        with cancel_on(self._cancel):
            try:
                with gc_paused():
                    self._live = run._refresh(self._say, None)
            except BaseException as exc:  # handed to the thread that asks for the result
                self._error = exc

    def _say(self, message: str) -> None:
        with self._lock:
            if self._notify is None:
                self._messages.append(message)
                return
            notify = self._notify
        notify(message)

    def result(self, notify: Notify | None) -> Live:
        """Wait for the refresh; its live state, or its exception raised here."""
        with self._lock:  # the waiting messages first, in order; the thread's next ones after them
            self._notify = notify or (lambda message: None)
            for message in self._messages:
                self._notify(message)
            self._messages = []
        self._thread.join()
        if self._error is not None:
            raise self._error
        assert self._live is not None
        return self._live

    def abandon(self) -> None:
        """Send no further request and wait for the ones on the wire (the result is dropped)."""
        self._cancel.set()
        self._thread.join()


def _in_account(exc: ProviderError, account: str) -> ProviderError:
    """``exc`` (same type and attributes) with its message led by the account it happened in."""
    if exc.args and isinstance(exc.args[0], str) and not exc.args[0].startswith(f"account {account}: "):
        exc.args = (f"account {account}: {exc.args[0]}", *exc.args[1:])
    return exc


def _by_key(account: str, type_: str, items: Iterable[Resource]) -> dict[str, Resource]:
    out: dict[str, Resource] = {}
    for item in items:
        if item.key in out:
            first = out[item.key]
            raise ProviderError(
                f"{account}: two live {type_} share the key {item.key!r} (ids {first.ident} and "
                f"{item.ident}); merge or rename one in the provider's UI, then plan again"
            )
        out[item.key] = item
    return out


def _state_view(state: State, accounts: Iterable[str]) -> dict[str, Mapping[str, Mapping[str, Any]]]:
    return {name: state.account(name) for name in accounts}


def live_fingerprint(live: Mapping[tuple[str, str], Mapping[str, Resource]]) -> dict[str, str]:
    """A hash of the live items per ``account/type`` (keys, ids and attributes)."""
    out: dict[str, str] = {}
    for (account, type_), items in sorted(live.items()):
        digest = hashlib.sha256()
        for key in sorted(items):
            item = items[key]
            digest.update(json.dumps([key, item.ident, item.attrs], sort_keys=True, default=str).encode())
        out[f"{account}/{type_}"] = digest.hexdigest()
    return out
