"""The provider interface: capabilities as data, a small set of methods, a plain-dict registry.

Only the planner consults capabilities (docs and tests read the same table). A provider never
gets asked for what it declared it cannot do.
"""

from __future__ import annotations

import importlib
from abc import ABC, abstractmethod
from collections.abc import Callable, Collection, Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, ClassVar, Protocol

from reconciler.changes import Action, Change
from reconciler.config.types import AccountConfig
from reconciler.errors import Problem, ReconcilerError, UnsupportedFeature
from reconciler.model import Resource, expand_sub_resources
from reconciler.providers.contract import ApplyContext as ApplyContext
from reconciler.providers.contract import Handler, IdMaps, collect_handlers, missing_handlers
from reconciler.providers.contract import Outcome as Outcome
from reconciler.providers.contract import handles as handles
from reconciler.sms.rules import Sending
from reconciler.types import ResourceType


@dataclass(frozen=True)
class Support:
    """Whether an operation is possible, and if not, why (in words a user understands)."""

    ok: bool
    reason: str = ""


def yes(note: str = "") -> Support:
    return Support(True, note)


def cannot(reason: str) -> Support:
    return Support(False, reason)


@dataclass(frozen=True)
class Capability:
    """What a provider can do with one resource type.

    - ``fields``: attributes a user may declare for this type on this provider (top level).
    - ``immutable_fields``: a change to one of them cannot be an in-place update.
    - ``append_only_fields``: list fields that can only grow; removing an element is unsupported.
    - ``derived_fields``: set by the provider; never compared.
    - ``tracked``: provider ids and last-applied attributes live in the state file (user-keyed or
      unlistable types). Tracked items missing from the config are deleted (Terraform semantics).
    - ``adopt_by``: attribute paths that identify a live item when its state record is lost.
    - ``replace``: how a replace is done; default: possible when create and delete are.
    """

    list: Support
    create: Support
    update: Support
    delete: Support
    fields: frozenset[str]
    replace: Support | None = None
    batch_size: int = 1
    immutable_fields: frozenset[str] = frozenset()
    append_only_fields: frozenset[str] = frozenset()
    derived_fields: frozenset[str] = frozenset()
    tracked: bool = False
    adopt_by: tuple[str, ...] = ()
    delete_warning: str = ""  # shown in the plan beside every delete of this type

    @property
    def can_replace(self) -> Support:
        if self.replace is not None:
            return self.replace
        if self.create.ok and self.delete.ok:
            return yes()
        return cannot(self.delete.reason or self.create.reason)


LiveState = dict[str, list[Resource]]
StateView = Mapping[str, Mapping[str, Any]]  # type -> key -> {"id": ..., "attrs": {...}}


class RegistrationError(ReconcilerError):
    """A provider declaration that breaks the provider contract (docs/providers/contract.md)."""


class Provider(ABC):
    """One account on one provider API (the contract: docs/providers/contract.md).

    Subclasses set ``name``, ``capabilities`` and ``default_url``, implement ``read``, and declare
    one handler per (type, action) their capabilities allow with :func:`handles`; a class whose
    handlers and capabilities disagree is refused when it is defined. A provider holds one HTTP
    session for its account; call ``close`` when done.
    """

    name: ClassVar[str]
    default_url: ClassVar[str]
    capabilities: ClassVar[Mapping[str, Capability]]
    handlers: ClassVar[Mapping[tuple[str, Action], Handler]] = {}

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        cls.handlers = collect_handlers(vars(klass) for klass in reversed(cls.__mro__))
        capabilities = getattr(cls, "capabilities", None)
        if capabilities is None:
            return  # an abstract intermediate class
        problems = missing_handlers(capabilities, cls.handlers)
        if problems:
            name = getattr(cls, "name", cls.__name__)
            raise RegistrationError(
                f"provider {name!r} breaks the provider contract: {'; '.join(problems)} "
                "(declare a handler with @handles, or correct the capability; see docs/providers/contract.md)"
            )

    def __init__(self, account: AccountConfig) -> None:
        self.account = account

    @property
    def url(self) -> str:
        return self.account.url or self.default_url

    @abstractmethod
    def read(self, types: Collection[str], state: Mapping[str, Mapping[str, Any]]) -> LiveState:
        """Read live items of ``types`` (only listable ones are asked for).

        ``state`` maps type -> key -> ``{"id": ..., "attrs": {...}}`` for this account, so a
        provider can resolve user keys of tracked types. Items of tracked types whose id is not in
        state are returned with key ``"#<id>"``; the planner binds or adopts them.
        """

    def apply(self, changes: Sequence[Change], ctx: ApplyContext | None = None) -> list[Outcome]:
        """Apply a batch of changes of one type and action, in order; one Outcome per change.

        Dispatches to the handler declared for the batch's (type, action). The batch is at most
        ``capabilities[type].batch_size`` long. Raises ProviderError when the batch failed (what a
        multi-step change made before failing was reported with ``ctx.checkpoint``);
        :class:`UnsupportedFeature` when no handler exists. Without ``ctx`` (tests, scripts) ids are
        read from the provider on first use.
        """
        if not changes:
            return []
        if ctx is None:
            ctx = ApplyContext(self.account.name, IdMaps(reader=self.id_reader({})))
        first = changes[0]
        handler = self.handlers.get((first.type, first.action))
        if handler is None and first.action is Action.REPLACE:
            return [self._replace(change, ctx) for change in changes]
        if handler is None:
            cap = self.capabilities.get(first.type)
            support = getattr(cap, first.action.value, None) if cap is not None else None
            reason = getattr(support, "reason", "") or "the API has no call for it"
            raise UnsupportedFeature(f"{self.name}: cannot {first.action.value} {first.type}: {reason}")
        method = getattr(self, handler.method)
        if handler.batch:
            outcomes: list[Outcome] = list(method(changes, ctx))
            return outcomes
        return [method(change, ctx) for change in changes]

    def _replace(self, change: Change, ctx: ApplyContext) -> Outcome:
        """The default replace: delete the live item, then create it as declared."""
        kind = (change.type, Action.DELETE), (change.type, Action.CREATE)
        if not all(k in self.handlers for k in kind):
            raise UnsupportedFeature(f"{self.name}: cannot replace {change.type} ({change.address})")
        delete = Change(
            change.account, change.type, change.key, Action.DELETE, before=change.before, ident=change.ident
        )
        self.apply([delete], ctx)
        create = Change(change.account, change.type, change.key, Action.CREATE, after=change.wanted)
        return self.apply([create], ctx)[0]

    def id_reader(self, state: StateView) -> Callable[[str], dict[str, str]]:
        """Read the ids of one type by key (listable types from the API, others from ``state``)."""

        def read(type_: str) -> dict[str, str]:
            cap = self.capabilities.get(type_)
            ids = {key: str(rec.get("id")) for key, rec in (state.get(type_) or {}).items() if rec.get("id")}
            if cap is not None and cap.list.ok:
                for item in self.read([type_], state).get(type_, []):
                    if item.ident is not None and not item.key.startswith("#"):
                        ids[item.key] = str(item.ident)
            return ids

        return read

    @classmethod
    def refine(cls, change: Change, live: Resource | None, now: datetime) -> Change | Problem:
        """Adjust one planned change using the live item (pure, no network).

        A provider whose abilities depend on an item's live state (an inactive reminder cannot be
        edited, a sent campaign cannot change) returns a replacement Change, or a warning Problem
        that stands instead of the change. Default: the change as planned.
        """
        return change

    @classmethod
    def expand(
        cls, sub: ResourceType, account: str, parents: Mapping[str, Resource]
    ) -> Mapping[str, Resource]:
        """The items of the sub-resource ``sub`` that the declared parents hold in its field (pure).

        Asked only for sub-resource types the provider declares a capability for. The planner
        compares the parents without that field. The default follows the type table
        (:class:`reconciler.types.SubResource`); a provider overrides it only if its API models
        the relation differently.
        """
        return expand_sub_resources(sub, account, parents)

    def check(
        self, desired: Mapping[str, Mapping[str, Resource]], live: LiveState, state: StateView | None = None
    ) -> list[Problem]:
        """Plan-time checks that need live data (valid senders, folders; opt-outs come from
        :meth:`opt_outs`). Default: none.

        ``state`` is this account's state (type -> key -> record), passed in; a provider keeps
        nothing from ``read`` for it.
        """
        return []

    def opt_outs(self, live: LiveState) -> Mapping[str, str]:
        """Numbers (E.164) that opted out in ways no resource type holds -> why, in words
        (``texted STOP on 2026-10-01``). Items of the declared ``Sending.opt_out_types`` are
        added by the audience check itself. Default: none."""
        return {}

    def close(self) -> None:  # noqa: B027 - optional hook, empty by default
        """Release the HTTP session (and log out where the API has sessions)."""


class ValidateItem(Protocol):
    """A provider's offline rules on one normalized desired item: ``[(attribute path, message)]``.

    ``now`` is the time date rules are judged against (the time of the run by default).
    """

    def __call__(
        self, type_: str, attrs: Mapping[str, Any], now: datetime | None = None
    ) -> list[tuple[str, str]]: ...


@dataclass(frozen=True)
class ProviderInfo:
    """What is known of a provider without importing its client: read by config validation."""

    name: str
    capabilities: Mapping[str, Capability]
    default_url: str
    timezone: str  # local time zone of the API's dates without offset
    credentials: tuple[str, ...]  # credential keys, required unless listed in optional_credentials
    optional_credentials: tuple[str, ...] = ()
    # Credential keys whose values are secrets (redacted everywhere); the others (user names,
    # domains) are shown in messages. A key a provider does not declare is treated as secret.
    secret_credentials: tuple[str, ...] = ()
    # Provider rules on one normalized desired item, checked by `validate` with no network:
    # (type, attrs, now) -> [(attribute path, message with how to fix)]. Default: none.
    validate_item: ValidateItem | None = None
    # How the provider sends messages (text limits, sender rule, recipients, opt-outs); None when
    # it sends nothing. Read by the generic message and audience checks (reconciler.sms).
    sending: Sending | None = None


@dataclass(frozen=True)
class SandboxDefaults:
    """How ``reconciler sandbox``, the demo and the tests run a provider's emulator.

    ``emulator`` is ``module:Class`` (imported only when the sandbox starts, so client code never
    loads the emulator's web stack); ``port_offset`` is added to ``--port-base``; ``api_path`` is
    the URL path of the API on the emulator; ``url_env`` and ``credential_env`` name the
    environment variables the examples read (credential key -> variable).
    """

    emulator: str
    port_offset: int
    api_path: str
    url_env: str
    credential_env: Mapping[str, str]


@dataclass(frozen=True)
class Registration:
    """Everything the tool knows of one provider, declared once in the provider's package.

    ``info`` carries the name, capabilities and credential keys; ``provider`` is the Provider class
    as ``module:Class`` (imported on first use); ``sandbox`` says how to run its emulator. The
    registry, the sandbox, the config schema's provider enum and the test tables derive from it.
    """

    info: ProviderInfo
    provider: str
    sandbox: SandboxDefaults

    @property
    def name(self) -> str:
        return self.info.name


_REGISTERED: dict[str, Registration] = {}
_DISCOVERED = False


def register(registration: Registration) -> Registration:
    """Add ``registration`` to the registry; refuse a second provider of the same name."""
    name = registration.name
    known = _REGISTERED.get(name)
    if known is not None and known is not registration:
        raise RegistrationError(f"provider {name!r} is registered twice")
    offsets = {r.sandbox.port_offset: r.name for r in _REGISTERED.values() if r.name != name}
    if registration.sandbox.port_offset in offsets:
        other = offsets[registration.sandbox.port_offset]
        raise RegistrationError(f"provider {name!r}: sandbox port offset already used by {other!r}")
    _REGISTERED[name] = registration
    return registration


def registrations() -> Mapping[str, Registration]:
    """Every registered provider by name: the subpackages of ``reconciler.providers`` that declare
    a ``REGISTRATION``, plus any registered with :func:`register`."""
    global _DISCOVERED
    if not _DISCOVERED:
        import pkgutil

        import reconciler.providers as package

        for module in sorted(pkgutil.iter_modules(package.__path__), key=lambda m: m.name):
            if module.ispkg:
                loaded = importlib.import_module(f"{package.__name__}.{module.name}")
                found = getattr(loaded, "REGISTRATION", None)
                if isinstance(found, Registration):
                    register(found)
        _DISCOVERED = True
    return _REGISTERED


class _Registry(Mapping[str, Registration]):
    """The registry as a read-only mapping, discovered on first use."""

    def __getitem__(self, name: str) -> Registration:
        return registrations()[name]

    def __iter__(self) -> Iterator[str]:
        return iter(sorted(registrations()))

    def __len__(self) -> int:
        return len(registrations())


REGISTRY: Mapping[str, Registration] = _Registry()


def registration(name: str) -> Registration:
    """The registration of provider ``name``; a clear error naming the known ones otherwise."""
    try:
        return REGISTRY[name]
    except KeyError:
        choices = ", ".join(sorted(REGISTRY))
        raise ReconcilerError(f"unknown provider {name!r} (choose one of: {choices})") from None


def provider_info(name: str) -> ProviderInfo:
    """The capabilities and settings of the provider registered as ``name``."""
    return registration(name).info


def load(target: str) -> Any:
    """The object named by ``module:attribute``."""
    module_name, _, attribute = target.partition(":")
    return getattr(importlib.import_module(module_name), attribute)


def provider_class(name: str) -> type[Provider]:
    """Return the Provider class registered as ``name``."""
    cls: type[Provider] = load(registration(name).provider)
    return cls


def sandbox_ports() -> dict[str, int]:
    """The sandbox port offset of every registered provider, in port order."""
    offsets = {name: reg.sandbox.port_offset for name, reg in REGISTRY.items()}
    return dict(sorted(offsets.items(), key=lambda item: item[1]))
