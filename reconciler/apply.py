"""The applier: walks a plan in order, calls the providers, journals every success at once.

Creates and deletes of one type are batched up to the provider's batch size. Before a
non-idempotent request for a tracked type (a create or replace) the intent is journaled; after it,
the result. The first failure stops the run (or, with ``continue_on_error``, only the changes that
depend on the failed one are skipped) and is reported with the change and the provider's answer.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Iterator, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from reconciler.changes import Action, Change
from reconciler.errors import ProviderError
from reconciler.model import Resource, get_path, project
from reconciler.plan import Plan
from reconciler.providers.base import Capability, Outcome, Provider
from reconciler.providers.contract import ApplyContext, IdMaps
from reconciler.state import State
from reconciler.types import TABLE, TYPES

log = logging.getLogger(__name__)

Progress = Callable[[Change, str], None]  # (change, "applied" | "failed" | "skipped")


@dataclass
class ApplyResult:
    """What happened to each change of the plan."""

    applied: list[Change] = field(default_factory=list)
    failed: list[tuple[Change, str]] = field(default_factory=list)
    skipped: list[tuple[Change, str]] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.failed and not self.skipped


def _batches(
    changes: Sequence[Change], caps: Mapping[str, Mapping[str, Capability]]
) -> Iterator[list[Change]]:
    batch: list[Change] = []
    for change in changes:
        size = (
            caps[change.account][change.type].batch_size
            if change.action in (Action.CREATE, Action.DELETE)
            else 1
        )
        if batch and (
            (batch[0].account, batch[0].type, batch[0].action) != (change.account, change.type, change.action)
            or len(batch) >= size
        ):
            yield batch
            batch = []
        batch.append(change)
    if batch:
        yield batch


def _depends_on(change: Change, failed: set[tuple[str, str, str]]) -> str | None:
    """The failed item this change needs, if any: one it refers to (by the type table's references),
    or, for a delete, a failed sub-item the delete would cascade to."""
    acct = change.account
    refs: list[tuple[str, str]] = []
    attrs = change.after or change.desired or {}
    record = TYPES.get(change.type)
    for ref in record.references if record is not None else ():
        names = get_path(attrs, ref.path)
        names = [names] if isinstance(names, str) else list(names or ())
        refs += [(ref.target, str(name)) for name in names]
    if change.action is Action.DELETE:
        for sub in TABLE:
            if sub.sub is not None and sub.sub.cascade == change.type:
                refs += [(sub.name, k) for (a, t, k) in failed if a == acct and t == sub.name]
    for type_, key in refs:
        if (acct, type_, key) in failed:
            return f"{acct}/{type_}/{key}"
    return None


def apply_plan(
    plan: Plan,
    providers: Mapping[str, Provider],
    state: State,
    *,
    continue_on_error: bool = False,
    progress: Progress | None = None,
    parallelism: int = 1,
    live: Mapping[tuple[str, str], Mapping[str, Resource]] | None = None,
) -> ApplyResult:
    """Apply ``plan.applicable`` in order; return what succeeded, failed and was skipped.

    ``providers`` maps account name -> an open Provider. ``live`` is what the plan was made from
    (account, type) -> key -> item: with the state it seeds each account's id maps, which the
    providers get in their ApplyContext; a type missing from both is read on first use.
    Unsupported changes are never applied (the caller refuses or drops them first). With
    ``parallelism`` > 1, accounts run side by side and, within an account, consecutive batches of
    the same type and action (which never depend on each other) run on that many threads; the
    order between stages is kept.
    """
    result = ApplyResult()
    caps = {name: provider.capabilities for name, provider in providers.items()}
    for adoption in plan.adoptions:
        lean = caps[adoption.account][adoption.type].list.ok
        state.record(
            adoption.account, adoption.type, adoption.key, adoption.ident, _kept(adoption.attrs, lean)
        )
        state.resolve(adoption.account, adoption.type, adoption.key)
    ids = {name: _id_maps(name, provider, state, live or {}) for name, provider in providers.items()}
    run = _Walk(providers, caps, state, result, progress, continue_on_error, ids)
    by_account: dict[str, list[list[Change]]] = {}
    for batch in _batches(plan.applicable, caps):
        by_account.setdefault(batch[0].account, []).append(batch)
    workers = max(1, parallelism)

    def walk_account(batches: list[list[Change]]) -> None:
        for stage in _stages(batches):
            if workers > 1 and len(stage) > 1:
                with ThreadPoolExecutor(max_workers=workers) as pool:
                    list(pool.map(run.batch, stage))
            else:
                for batch in stage:
                    run.batch(batch)

    if workers > 1 and len(by_account) > 1:
        with ThreadPoolExecutor(max_workers=min(workers, len(by_account))) as pool:
            list(pool.map(walk_account, by_account.values()))
    else:
        for batches in by_account.values():
            walk_account(batches)
    return result


def _id_maps(
    account: str, provider: Provider, state: State, live: Mapping[tuple[str, str], Mapping[str, Resource]]
) -> IdMaps:
    """The ids of one account's items by type and key: from the live read and state; others on demand."""
    records = state.account(account)
    known = {
        type_: {key: str(rec["id"]) for key, rec in by_key.items() if rec.get("id") is not None}
        for type_, by_key in records.items()
    }
    seed = {
        type_: {k: str(r.ident) for k, r in items.items() if r.ident and not k.startswith("#")}
        for (name, type_), items in live.items()
        if name == account
    }
    return IdMaps(seed, provider.id_reader(records), known)


def _stages(batches: list[list[Change]]) -> Iterator[list[list[Change]]]:
    """Runs of consecutive batches with the same type and action: independent of each other."""
    stage: list[list[Change]] = []
    for batch in batches:
        if stage and (stage[0][0].type, stage[0][0].action) != (batch[0].type, batch[0].action):
            yield stage
            stage = []
        stage.append(batch)
    if stage:
        yield stage


@dataclass
class _Walk:
    """Shared progress of one apply: what failed, whether to stop; safe to use from threads."""

    providers: Mapping[str, Provider]
    caps: Mapping[str, Mapping[str, Capability]]
    state: State
    result: ApplyResult
    progress: Progress | None
    continue_on_error: bool
    ids: Mapping[str, IdMaps]
    failed: set[tuple[str, str, str]] = field(default_factory=set)
    stop: bool = False
    lock: threading.Lock = field(default_factory=threading.Lock)
    gates: dict[str, _Gate] = field(default_factory=dict)

    def batch(self, batch: list[Change]) -> None:
        runnable = []
        with self.lock:
            for change in batch:
                blocker = _depends_on(change, self.failed)
                if self.stop:
                    self.result.skipped.append((change, "not attempted: an earlier change failed"))
                    _tell(self.progress, change, "skipped")
                elif blocker:
                    self.failed.add((change.account, change.type, change.key))
                    self.result.skipped.append((change, f"depends on {blocker}, which failed"))
                    _tell(self.progress, change, "skipped")
                else:
                    runnable.append(change)
        if not runnable:
            return
        account = runnable[0].account
        with self.lock:
            gate = self.gates.setdefault(account, _Gate())
        provider, ids = self.providers[account], self.ids[account]
        outcome = _run_batch(runnable, provider, self.caps, self.state, self.result, self.progress, gate, ids)
        if outcome is not None:
            error, failed = outcome
            with self.lock:
                for change in failed:
                    self.failed.add((change.account, change.type, change.key))
                    self.result.failed.append((change, error))
                    _tell(self.progress, change, "failed")
                self.stop = self.stop or not self.continue_on_error


def _tell(progress: Progress | None, change: Change, what: str) -> None:
    if progress is not None:
        progress(change, what)


class _Gate:
    """Batches of one provider run side by side; a read-back runs alone.

    A read-back rebuilds the provider's name -> id maps from a fresh listing, so it must neither
    race another read-back nor miss a create that is still in flight on another thread.
    """

    def __init__(self) -> None:
        self._cond = threading.Condition()
        self._active = 0
        self._alone = False

    @contextmanager
    def shared(self) -> Iterator[None]:
        with self._cond:
            self._cond.wait_for(lambda: not self._alone)
            self._active += 1
        try:
            yield
        finally:
            with self._cond:
                self._active -= 1
                self._cond.notify_all()

    @contextmanager
    def alone(self) -> Iterator[None]:
        with self._cond:
            self._cond.wait_for(lambda: not self._alone and self._active == 0)
            self._alone = True
        try:
            yield
        finally:
            with self._cond:
                self._alone = False
                self._cond.notify_all()


def _run_batch(
    batch: list[Change],
    provider: Provider,
    caps: Mapping[str, Mapping[str, Capability]],
    state: State,
    result: ApplyResult,
    progress: Progress | None,
    gate: _Gate,
    ids: IdMaps,
) -> tuple[str, list[Change]] | None:
    """Apply one batch; journal its outcomes. Returns None on success, else the error message and
    the changes of the batch that did not succeed (others may have, after a read-back)."""
    cap = caps[batch[0].account][batch[0].type]
    return _Batch(batch, provider, state, result, progress, gate, cap.tracked, ids, lean=cap.list.ok).run()


@dataclass
class _Batch:
    """One batch through its attempts: apply, and after a lost answer read back, then retry the rest."""

    changes: list[Change]
    provider: Provider
    state: State
    result: ApplyResult
    progress: Progress | None
    gate: _Gate
    tracked: bool
    ids: IdMaps
    lean: bool = False  # the type is read live: its records keep the id, not the attributes
    notes: list[str] = field(default_factory=list)  # read-back items created only in part
    unfinished: list[Change] = field(default_factory=list)

    def run(self) -> tuple[str, list[Change]] | None:
        first = self.changes[0]
        if self.tracked and first.action in (Action.CREATE, Action.REPLACE):
            for change in self.changes:
                self.state.intend(change.account, change.type, change.key, change.action.value)
        pending, error = self.changes, ""
        for _ in range(MAX_CREATE_ATTEMPTS):
            ctx = ApplyContext(first.account, self.ids, self._checkpoint)
            try:
                with self.gate.shared():
                    outcomes = self.provider.apply(pending, ctx)
            except ProviderError as exc:
                _keep_partial(ctx.partial, pending, self.tracked, self.state, self.lean)
                maybe_committed = exc.maybe_committed
                if not (maybe_committed and first.action is Action.CREATE):
                    if (
                        self.tracked
                        and first.action in (Action.CREATE, Action.REPLACE)
                        and not maybe_committed
                    ):
                        for change in pending:
                            self.state.resolve(change.account, change.type, change.key)
                    log.info("apply: %s %s failed: %s", first.action.value, first.address, exc)
                    return str(exc), pending + self.unfinished
                # The answer was lost after the request was sent: read back before trying again.
                found, why = self._read_back(exc, pending)
                if found is None:
                    return why, pending + self.unfinished
                pending = self._settle(pending, found)
                error = "; ".join([str(exc), *self.notes])
                if not pending:
                    return (error, self.unfinished) if self.unfinished else None
                continue
            if len(outcomes) != len(pending):
                return (
                    f"{self.provider.name}: {first.action.value} {first.type}: the provider answered "
                    f"{len(outcomes)} results for {len(pending)} changes"
                ), pending + self.unfinished
            for change, outcome in zip(pending, outcomes, strict=True):
                _succeeded(
                    change, outcome, self.tracked, self.state, self.result, self.progress, self.ids, self.lean
                )
            return ("; ".join(self.notes), self.unfinished) if self.unfinished else None
        return error, pending + self.unfinished

    def _checkpoint(self, change: Change, outcome: Outcome) -> None:
        """Journal a provider's checkpoint inside a multi-step change at once (tracked types)."""
        if self.tracked and outcome.ident is not None:
            attrs = dict(outcome.attrs or {})
            self.state.record(change.account, change.type, change.key, outcome.ident, _kept(attrs, self.lean))
            self.state.resolve(change.account, change.type, change.key)

    def _read_back(
        self, exc: ProviderError, pending: list[Change]
    ) -> tuple[list[Resource | None] | None, str]:
        """The live items of ``pending`` (read alone), or None and why the outcome stays unknown."""
        type_ = pending[0].type
        try:
            with self.gate.alone():
                found = _read_back(self.provider, pending, self.state)
        except ProviderError as unread:
            return None, (
                f"{exc}; reading {type_} back to see whether it was created failed too ({unread}), "
                "so the next plan reads it again"
            )
        if found is None:
            return None, (
                f"{exc}; {self.provider.name} cannot read {type_} back, so whether it was created "
                "is uncertain: the next plan shows it as such instead of creating a duplicate"
            )
        return found, ""

    def _settle(self, pending: list[Change], found: list[Resource | None]) -> list[Change]:
        """Count read-back items as applied (or created in part); return those still to create."""
        for change, item in zip(pending, found, strict=True):
            if item is None:
                continue
            differs = _differs(item, change)
            if not differs:
                outcome = Outcome(item.ident, dict(change.after or {}))
                _succeeded(
                    change, outcome, self.tracked, self.state, self.result, self.progress, self.ids, self.lean
                )
                continue
            # Created, but not all of it (a multi-step create whose first answer was lost).
            if self.tracked:
                attrs = _kept(dict(item.attrs), self.lean)
                self.state.record(change.account, change.type, change.key, item.ident, attrs)
                self.state.resolve(change.account, change.type, change.key)
            self.notes.append(
                f"{change.address} was created as id {item.ident} but differs from the "
                f"config in {', '.join(differs)}; the next plan shows what is left"
            )
            self.unfinished.append(change)
        return [c for c, item in zip(pending, found, strict=True) if item is None]


MAX_CREATE_ATTEMPTS = 3


def _succeeded(
    change: Change,
    outcome: Outcome,
    tracked: bool,
    state: State,
    result: ApplyResult,
    progress: Progress | None,
    ids: IdMaps,
    lean: bool = False,
) -> None:
    if change.action is Action.DELETE:
        ids.drop(change.type, change.key)
    elif outcome.ident is not None:
        ids.set(change.type, change.key, outcome.ident)
    if tracked:
        _journal(state, change, outcome.ident, outcome.attrs, lean)
    result.applied.append(change)
    result.warnings.extend(f"{change.address}: {w}" for w in outcome.warnings)
    _tell(progress, change, "applied")


def _keep_partial(
    partial: Mapping[str, Outcome], batch: list[Change], tracked: bool, state: State, lean: bool = False
) -> None:
    """Record what a failed multi-step change did create (its last checkpoint: key -> Outcome)."""
    if not tracked or not partial:
        return
    for change in batch:
        outcome = partial.get(change.key)
        if outcome is not None and outcome.ident is not None:
            attrs = _kept(dict(outcome.attrs or {}), lean)
            state.record(change.account, change.type, change.key, outcome.ident, attrs)
            state.resolve(change.account, change.type, change.key)


def _differs(item: Resource, change: Change) -> list[str]:
    """The declared attributes a read-back live item lacks (empty: the create completed)."""
    declared = change.after or {}
    seen = project(item.attrs, declared)
    return sorted(name for name in declared if seen.get(name) != declared[name])


def _read_back(provider: Provider, batch: list[Change], state: State) -> list[Resource | None] | None:
    """The live item of each batch item (by key, or by ``adopt_by`` fields), None where absent.

    Returns None when the provider cannot list the type (the outcome stays uncertain).
    """
    first = batch[0]
    cap = provider.capabilities[first.type]
    if not cap.list.ok:
        return None
    live = provider.read([first.type], state.account(first.account)).get(first.type, [])
    by_key = {item.key: item for item in live}
    loose = [item for item in live if item.key.startswith("#")]
    found: list[Resource | None] = []
    for change in batch:
        item = by_key.get(change.key)
        if item is None and cap.adopt_by:
            want = [get_path(change.after or {}, path) for path in cap.adopt_by]
            item = next((r for r in loose if [get_path(r.attrs, p) for p in cap.adopt_by] == want), None)
        found.append(item)
    return found


def _kept(attrs: dict[str, Any], lean: bool) -> dict[str, Any]:
    """The attributes to record: none for a type the provider lists (the plan reads them live), so
    the state holds no names or numbers it does not need."""
    return {} if lean else attrs


def _journal(
    state: State, change: Change, ident: str | None, attrs: dict[str, Any] | None, lean: bool = False
) -> None:
    if change.action is Action.DELETE:
        state.forget(change.account, change.type, change.key)
    else:
        desired = attrs if attrs is not None else change.wanted
        state.record(change.account, change.type, change.key, ident or change.ident, _kept(desired, lean))
    if change.action in (Action.CREATE, Action.REPLACE):
        state.resolve(change.account, change.type, change.key)
