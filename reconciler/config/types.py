"""The loaded configuration: accounts, safety limits, state location and desired resources."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from reconciler.errors import Problem
from reconciler.model import Origin, Resource


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
    origin: Origin | None = field(default=None, compare=False)


@dataclass(frozen=True)
class Safety:
    """octoDNS-style thresholds: apply refuses to touch more than these shares without --force."""

    max_update_percent: float = 30.0
    max_delete_percent: float = 30.0
    min_existing: int = 10


@dataclass(frozen=True)
class Config:
    """A loaded, validated config repository.

    ``desired`` maps (account, type) -> key -> Resource; ``fingerprint`` is a hash of every
    config file's bytes (used to detect stale saved plans); ``files`` are those files' paths
    relative to ``root``. ``warnings`` are problems of severity "warning" found while loading
    (the CLI shows them; they do not stop a run).
    """

    root: Path
    accounts: Mapping[str, AccountConfig]
    desired: Mapping[tuple[str, str], Mapping[str, Resource]]
    safety: Safety = Safety()
    state_path: Path = Path(".reconciler/state.json")
    fingerprint: str = ""
    files: tuple[str, ...] = ()
    warnings: tuple[Problem, ...] = ()
