"""The loaded configuration: accounts, safety limits, state location and desired resources."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from reconciler.errors import Problem
from reconciler.http import Limits
from reconciler.model import Origin, Resource
from reconciler.sms.rules import Policy


@dataclass(frozen=True)
class IgnoreRule:
    """One ``ignore:`` entry of an account: live items of ``type`` that this tool leaves alone.

    With ``key`` (a shell-style glob) alone, matching items are hidden; with ``fields`` alone,
    those fields of every item of the type are left out; with both, those fields of the matching
    items only. See :mod:`reconciler.ignore`.
    """

    type: str
    key: str | None = None
    fields: tuple[str, ...] = ()
    origin: Origin | None = field(default=None, compare=False)

    def __str__(self) -> str:
        parts = [f"type: {self.type}"]
        if self.key is not None:
            parts.append(f"key: {self.key!r}")
        if self.fields:
            parts.append(f"fields: [{', '.join(self.fields)}]")
        return "{" + ", ".join(parts) + "}"


@dataclass(frozen=True)
class AccountConfig:
    """One account in ``reconciler.yaml``. ``credentials`` values are secrets (already expanded)."""

    name: str
    provider: str
    region: str = "SE"
    url: str | None = None
    credentials: Mapping[str, str] = field(default_factory=dict, repr=False)
    prune: frozenset[str] = frozenset()
    rate_limit: int | None = None  # requests per minute; None = provider default
    ignore: tuple[IgnoreRule, ...] = ()
    policy: Policy = Policy()  # sending window, time zone, price per segment (reconciler.sms)
    limits: Limits = Limits()  # per request: timeout (seconds, body included), max_response_bytes
    number_validity: str = "valid"  # "valid", or "possible" for numbers newer than the metadata
    origin: Origin | None = field(default=None, compare=False)


# The settings of a `safety:` block and their defaults (``None``: no absolute limit).
SAFETY_DEFAULTS: Mapping[str, float | None] = {
    "max_update_percent": 30.0,
    "max_delete_percent": 30.0,
    "min_existing": 10,
    "max_deletes": None,
}


@dataclass(frozen=True)
class SafetyBlock:
    """What one ``safety:`` block sets: ``settings`` for every type, ``types`` per resource type."""

    settings: Mapping[str, float] = field(default_factory=dict)
    types: Mapping[str, Mapping[str, float]] = field(default_factory=dict)


@dataclass(frozen=True)
class Limit:
    """One resolved safety setting: its value and the config path that set it (for messages)."""

    name: str
    value: float | None
    path: str


@dataclass(frozen=True)
class Safety:
    """octoDNS-style thresholds: apply refuses to touch more than these without --force.

    ``root`` is the ``safety:`` block of reconciler.yaml, ``accounts`` each account's own. A setting
    resolves per account and type, the most specific block first (see :meth:`limit`).
    """

    root: SafetyBlock = SafetyBlock()
    accounts: Mapping[str, SafetyBlock] = field(default_factory=dict)

    def limit(self, account: str, type_: str, name: str) -> Limit:
        """``name`` for ``type_`` in ``account``: ``accounts.A.safety.T.name``, then
        ``accounts.A.safety.name``, ``safety.T.name``, ``safety.name``, then the default."""
        levels: list[tuple[Mapping[str, float], str]] = []
        mine = self.accounts.get(account)
        if mine is not None:
            prefix = f"accounts.{account}.safety"
            levels += [(mine.types.get(type_, {}), f"{prefix}.{type_}"), (mine.settings, prefix)]
        levels += [(self.root.types.get(type_, {}), f"safety.{type_}"), (self.root.settings, "safety")]
        for values, path in levels:
            if name in values:
                return Limit(name, values[name], f"{path}.{name}")
        return Limit(name, SAFETY_DEFAULTS[name], f"safety.{name}")


@dataclass(frozen=True)
class StateSettings:
    """Where state is kept besides the file: ``backend`` "file" or "postgres" (``url`` is a secret)."""

    backend: str = "file"
    url: str | None = field(default=None, repr=False)
    schema: str = "reconciler"


@dataclass(frozen=True)
class Config:
    """A loaded, validated config repository.

    ``desired`` maps (account, type) -> key -> Resource; ``fingerprint`` is a hash of every
    config file's bytes (used to detect stale saved plans); ``files`` are those files' paths
    relative to ``root``. ``protect`` holds each item's declared ``protect:`` (true or false; absent when
    not written). ``warnings`` are problems of severity "warning" found while loading
    (the CLI shows them; they do not stop a run).
    """

    root: Path
    accounts: Mapping[str, AccountConfig]
    desired: Mapping[tuple[str, str], Mapping[str, Resource]]
    safety: Safety = field(default_factory=Safety)
    state_path: Path = Path(".reconciler/state.json")
    state: StateSettings = StateSettings()
    fingerprint: str = ""
    files: tuple[str, ...] = ()
    warnings: tuple[Problem, ...] = ()
    protect: Mapping[tuple[str, str, str], bool] = field(default_factory=dict)  # (account, type, key)
