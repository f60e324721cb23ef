"""Action and Change: the plain, frozen, serializable unit of a plan."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any


class Action(StrEnum):
    """What a change does to one resource."""

    CREATE = "create"
    UPDATE = "update"
    DELETE = "delete"
    REPLACE = "replace"  # the provider can't update in place: delete (or retire), then create
    UNSUPPORTED = "unsupported"  # shown, never applied

    @property
    def symbol(self) -> str:
        return {"create": "+", "update": "~", "delete": "-", "replace": "-/+", "unsupported": "!"}[self.value]


@dataclass(frozen=True)
class Change:
    """One change to one resource.

    ``before``/``after`` hold the compared attributes (only the changed ones for updates, in the
    JSON form); ``fields`` the changed attribute paths; ``ident`` the provider id of the live item
    (``None`` for creates); ``reason`` says why a change is a replace or unsupported.
    ``desired`` is the full declared attributes of an update or replace (``after`` holds only the
    changed paths), what a provider writes and the state records; it never holds secrets. In the
    plan JSON it is ``extra.desired`` (the format predates the typed field). ``impact`` is what a
    change that sends messages will send: recipients, encoding, segments, total SMS and cost (see
    reconciler.sms.audience); apply never reads it.
    """

    account: str
    type: str
    key: str
    action: Action
    before: dict[str, Any] | None = None
    after: dict[str, Any] | None = None
    fields: tuple[str, ...] = ()
    ident: str | None = None
    reason: str = ""
    desired: Mapping[str, Any] | None = field(default=None, compare=False)
    impact: dict[str, Any] | None = field(default=None, compare=False)

    @property
    def wanted(self) -> dict[str, Any]:
        """The full attributes this change makes the item have: ``desired``, else ``after``."""
        return dict(self.desired if self.desired is not None else self.after or {})

    @property
    def address(self) -> str:
        """Human address of the change: ``account/type/key``."""
        return f"{self.account}/{self.type}/{self.key}"

    def to_json(self) -> dict[str, Any]:
        data: dict[str, Any] = {
            "account": self.account,
            "type": self.type,
            "key": self.key,
            "action": self.action.value,
            "before": self.before,
            "after": self.after,
            "fields": list(self.fields),
        }
        if self.ident is not None:
            data["id"] = self.ident
        if self.reason:
            data["reason"] = self.reason
        if self.desired is not None:
            data["extra"] = {"desired": dict(self.desired)}
        if self.impact is not None:
            data["impact"] = self.impact
        return data

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Change:
        return cls(
            account=data["account"],
            type=data["type"],
            key=data["key"],
            action=Action(data["action"]),
            before=data.get("before"),
            after=data.get("after"),
            fields=tuple(data.get("fields") or ()),
            ident=data.get("id"),
            reason=data.get("reason", ""),
            desired=_desired(data.get("extra")),
            impact=data.get("impact"),
        )


def _desired(extra: Any) -> dict[str, Any] | None:
    desired = extra.get("desired") if isinstance(extra, Mapping) else None
    return dict(desired) if isinstance(desired, Mapping) else None
