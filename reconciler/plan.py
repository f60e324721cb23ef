"""The Plan: an ordered tuple of changes, warnings and a summary; JSON round-trip.

The planner itself (``diff``) lives in :mod:`reconciler.planner`; this module is the data.
"""

from __future__ import annotations

import hashlib
import json
from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any

from reconciler.changes import Action, Change
from reconciler.errors import Problem

FORMAT_VERSION = 1


@dataclass(frozen=True)
class Warning_:
    """A plan warning about one resource (or a whole account/type when ``key`` is empty).

    ``code`` names the finding for programs (``unmanaged``: a live item nobody declared;
    ``unlistable``: the provider cannot list the type); it is not part of the plan's JSON.
    """

    account: str
    type: str
    key: str
    message: str
    code: str = field(default="", compare=False)

    def to_json(self) -> dict[str, str]:
        return {"account": self.account, "type": self.type, "key": self.key, "message": self.message}


@dataclass(frozen=True)
class Adoption:
    """A live item of a tracked type bound to a declared key by its ``adopt_by`` fields.

    Applying the plan records its id and attributes in state (no request is sent).
    """

    account: str
    type: str
    key: str
    ident: str
    attrs: dict[str, Any]

    def to_json(self) -> dict[str, Any]:
        return {
            "account": self.account,
            "type": self.type,
            "key": self.key,
            "id": self.ident,
            "attrs": self.attrs,
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Adoption:
        attrs = data.get("attrs")
        return cls(
            str(data["account"]),
            str(data["type"]),
            str(data["key"]),
            str(data["id"]),
            dict(attrs) if isinstance(attrs, Mapping) else {},
        )


@dataclass(frozen=True)
class Fingerprints:
    """What a saved plan needs to be refused when stale: the config hash, the state file's lineage,
    the scope (accounts, types) it was made for, and a hash of the live items per ``account/type``
    (``None`` when not computed: only a saved plan needs it)."""

    config: str
    live: dict[str, str] | None
    state_lineage: str
    accounts: tuple[str, ...]
    types: tuple[str, ...] | None = None
    state_serials: dict[str, int] | None = None  # per account in scope: writes to its state so far

    def to_json(self) -> dict[str, Any]:
        data: dict[str, Any] = {
            "config": self.config,
            "state_lineage": self.state_lineage,
            "accounts": list(self.accounts),
            "types": list(self.types) if self.types is not None else None,
        }
        if self.live is not None:
            data["live"] = dict(self.live)
        if self.state_serials is not None:
            data["state_serials"] = dict(self.state_serials)
        return data

    @classmethod
    def from_json(cls, meta: Mapping[str, Any]) -> Fingerprints | None:
        if "config" not in meta:
            return None
        live = meta.get("live")
        types = meta.get("types")
        serials = meta.get("state_serials")
        return cls(
            config=str(meta.get("config")),
            live={str(k): str(v) for k, v in live.items()} if isinstance(live, Mapping) else None,
            state_lineage=str(meta.get("state_lineage") or ""),
            accounts=tuple(str(a) for a in meta.get("accounts") or ()),
            types=tuple(str(t) for t in types) if isinstance(types, list) else None,
            state_serials=(
                {str(k): v for k, v in serials.items() if isinstance(v, int) and not isinstance(v, bool)}
                if isinstance(serials, Mapping)
                else None
            ),
        )


@dataclass(frozen=True)
class Plan:
    """The minimal change set, in apply order.

    ``unmanaged`` counts live items that are neither declared nor pruned, per (account, type);
    each is also listed in ``warnings``. ``errors`` are plan-time problems (an invalid sender, an
    opted-out number) that make the plan unappliable. ``adoptions`` are live items bound to
    declared keys (recorded in state on apply); ``fingerprints`` what a saved plan needs to detect
    staleness. Neither ever holds secrets. In the JSON both live under ``meta``.
    """

    changes: tuple[Change, ...] = ()
    warnings: tuple[Warning_, ...] = ()
    errors: tuple[Problem, ...] = ()
    created_at: str = ""
    adoptions: tuple[Adoption, ...] = ()
    fingerprints: Fingerprints | None = None

    @property
    def meta(self) -> Mapping[str, Any]:
        """The JSON ``meta`` member: adoptions and fingerprints, read-only (a built plan is never
        changed: make a new one with ``dataclasses.replace``)."""
        data: dict[str, Any] = {}
        if self.adoptions:
            data["adopt"] = [adoption.to_json() for adoption in self.adoptions]
        if self.fingerprints is not None:
            data.update(self.fingerprints.to_json())
        return MappingProxyType(data)

    @property
    def summary(self) -> dict[str, int]:
        counts = Counter(change.action.value for change in self.changes)
        return {action.value: counts.get(action.value, 0) for action in Action}

    @property
    def has_changes(self) -> bool:
        return bool(self.changes)

    @property
    def applicable(self) -> tuple[Change, ...]:
        return tuple(c for c in self.changes if c.action is not Action.UNSUPPORTED)

    def to_json(self) -> dict[str, Any]:
        data: dict[str, Any] = {
            "format_version": FORMAT_VERSION,
            "created_at": self.created_at,
            "changes": [change.to_json() for change in self.changes],
            "warnings": [warning.to_json() for warning in self.warnings],
            "errors": [str(error) for error in self.errors],
            "summary": self.summary,
        }
        meta = self.meta
        if meta:
            data["meta"] = dict(meta)
        return data

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Plan:
        raw = data.get("meta")
        meta: Mapping[str, Any] = raw if isinstance(raw, Mapping) else {}
        return cls(
            changes=tuple(Change.from_json(c) for c in data.get("changes", ())),
            warnings=tuple(Warning_(**w) for w in data.get("warnings", ())),
            errors=tuple(Problem(e) for e in data.get("errors", ())),
            created_at=data.get("created_at", ""),
            adoptions=tuple(Adoption.from_json(a) for a in meta.get("adopt") or ()),
            fingerprints=Fingerprints.from_json(meta),
        )


def checksum(data: dict[str, Any]) -> str:
    """SHA-256 of the canonical JSON of ``data`` without its ``checksum`` member."""
    body = {k: v for k, v in data.items() if k != "checksum"}
    text = json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()
