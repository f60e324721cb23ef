"""The apply side of the provider contract (docs/providers/contract.md).

- :class:`Outcome`: what applying one change produced (id, attributes to record, warnings).
- :class:`ApplyContext`: what the applier hands a provider with every batch: the id of any item
  by type and key (from the live read, state and this run's results; a type not known yet is read
  on first use), and :meth:`ApplyContext.checkpoint`, the one channel for progress inside a
  multi-step change (journaled at once; also what a failed change leaves behind).
- :func:`handles`: declares a provider method as the handler of a (type, action);
  :func:`missing_handlers` compares handlers with capabilities (checked when the class is made).
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, TypeVar

from reconciler.changes import Action, Change

if TYPE_CHECKING:
    from reconciler.providers.base import Capability


@dataclass(frozen=True)
class Outcome:
    """What applying one change produced: the provider id and the attributes to record in state.

    ``ident`` is the id of the item as it is after the change (``None`` after a delete).
    """

    ident: str | None = None
    attrs: dict[str, Any] | None = None
    warnings: tuple[str, ...] = field(default=())


Reader = Callable[[str], Mapping[str, str]]


class IdMaps:
    """type -> key -> provider id for one account; thread-safe.

    ``seed`` holds complete maps (the types the plan read live); ``known`` partial ones (ids kept
    in state). The applier keeps them current as changes succeed. A type not seeded complete is
    read once through ``reader`` when first asked for (``None``: unknown ids stay unknown); what
    this run did to it before that is kept on top of the reading.
    """

    def __init__(
        self,
        seed: Mapping[str, Mapping[str, str]] | None = None,
        reader: Reader | None = None,
        known: Mapping[str, Mapping[str, str]] | None = None,
    ) -> None:
        self._maps: dict[str, dict[str, str]] = {t: dict(ids) for t, ids in (known or {}).items()}
        for type_, ids in (seed or {}).items():
            self._maps.setdefault(type_, {}).update(ids)
        self._complete = set(seed or ())
        self._dropped: dict[str, set[str]] = {}
        self._reader = reader
        self._lock = threading.Lock()

    def get(self, type_: str, key: str) -> str | None:
        with self._lock:
            ids = self._maps.setdefault(type_, {})
            if key not in ids and type_ not in self._complete and self._reader is not None:
                fresh = dict(self._reader(type_))
                fresh.update(ids)
                for gone in self._dropped.get(type_, ()):
                    fresh.pop(gone, None)
                self._maps[type_] = ids = fresh
                self._complete.add(type_)
            return ids.get(key)

    def set(self, type_: str, key: str, ident: str) -> None:
        with self._lock:
            self._maps.setdefault(type_, {})[key] = ident
            self._dropped.get(type_, set()).discard(key)

    def drop(self, type_: str, key: str) -> None:
        with self._lock:
            self._maps.get(type_, {}).pop(key, None)
            self._dropped.setdefault(type_, set()).add(key)


Journal = Callable[[Change, Outcome], None]


class ApplyContext:
    """What a provider gets with one batch: ids by type and key, and the checkpoint channel."""

    def __init__(self, account: str, ids: IdMaps | None = None, journal: Journal | None = None) -> None:
        self.account = account
        self.ids = ids if ids is not None else IdMaps()
        self._journal = journal
        self.partial: dict[str, Outcome] = {}  # change key -> the last checkpoint of that change

    def id_of(self, type_: str, key: str) -> str | None:
        """The provider id of the item ``type_``/``key`` of this account, if it exists."""
        return self.ids.get(type_, key)

    def checkpoint(self, change: Change, outcome: Outcome) -> None:
        """Report what a multi-step change has made so far (e.g. the id a create just returned).

        The applier journals it at once, so a run killed before the change finishes leaves the id
        in state instead of an uncertain create; if the change then fails, the last checkpoint is
        what the state keeps. ``outcome.attrs`` says what exists so far.
        """
        self.partial[change.key] = outcome
        if outcome.ident is not None:
            self.ids.set(change.type, change.key, outcome.ident)
        if self._journal is not None:
            self._journal(change, outcome)


F = TypeVar("F", bound=Callable[..., Any])
HANDLES = "__reconciler_handles__"


def handles(type_: str, *actions: Action, batch: bool = False) -> Callable[[F], F]:
    """Declare the decorated provider method as the handler of ``type_`` for each of ``actions``.

    A per-item handler is called as ``method(change, ctx) -> Outcome``; with ``batch=True`` as
    ``method(changes, ctx) -> list[Outcome]`` for a whole batch (one request for many items).
    """

    def mark(method: F) -> F:
        declared = list(getattr(method, HANDLES, ()))
        declared += [(type_, action, batch) for action in actions]
        setattr(method, HANDLES, declared)
        return method

    return mark


@dataclass(frozen=True)
class Handler:
    """One declared handler: the method's name and whether it takes a whole batch."""

    method: str
    batch: bool


def collect_handlers(namespaces: Iterable[Mapping[str, Any]]) -> dict[tuple[str, Action], Handler]:
    """The handlers declared with :func:`handles` in class namespaces (base classes first)."""
    found: dict[tuple[str, Action], Handler] = {}
    for namespace in namespaces:
        for name, member in namespace.items():
            for type_, action, batch in getattr(member, HANDLES, ()):
                found[(type_, action)] = Handler(name, batch)
    return found


def missing_handlers(
    capabilities: Mapping[str, Capability], handlers: Mapping[tuple[str, Action], Handler]
) -> list[str]:
    """Contract breaches: each operation a capability allows without a handler, and each handler
    of an operation the capabilities rule out. Empty when provider and capabilities agree.

    A replace needs its own handler unless the type has create and delete handlers: the base class
    then replaces by deleting and creating.
    """
    problems = []
    for type_, cap in capabilities.items():
        operations = ((Action.CREATE, cap.create), (Action.UPDATE, cap.update), (Action.DELETE, cap.delete))
        for action, support in operations:
            has = (type_, action) in handlers
            if support.ok and not has:
                problems.append(f"{type_}: can {action.value} but has no handler for it")
            elif has and not support.ok:
                problems.append(f"{type_}: has a {action.value} handler but its capability says it cannot")
        default_replace = {(type_, Action.CREATE), (type_, Action.DELETE)} <= set(handlers)
        if cap.can_replace.ok and (type_, Action.REPLACE) not in handlers and not default_replace:
            problems.append(f"{type_}: can replace but has no handler (nor create and delete handlers)")
    for type_, action in handlers:
        if type_ not in capabilities:
            problems.append(f"{type_}: has a {action.value} handler but no capability")
    return problems
