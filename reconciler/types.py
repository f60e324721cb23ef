"""The resource types: one frozen record per type, the only place that knows a type's shape.

Normalization (:mod:`reconciler.model`), validation references and passes
(:mod:`reconciler.config.validate`), apply order and dependent-skipping (:mod:`reconciler.planner`,
:mod:`reconciler.apply`), export and rendering all read this table; the planner, engine, applier,
plan and state modules name no type. ``tests/unit/test_types.py`` checks the JSON Schema of
resource files against it. Adding a type is one entry here plus the handlers of the providers that
support it (see docs/architecture.md).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Reference:
    """Names at ``path`` in an item must be keys of items of type ``target`` in the same account."""

    path: str
    target: str


@dataclass(frozen=True)
class SubResource:
    """A type whose items a provider manages with calls of their own, declared as a field of a parent.

    Each name in the parent item's ``field`` becomes one item ``{name_attr: name, parent_attr:
    parent key}`` keyed ``name|parent key``. Only the sub-items of parents that declare ``field``
    are managed. Deleting an item of ``cascade`` (the type the names refer to) drops its sub-items
    with it, so they are not deleted one by one.
    """

    parent: str
    field: str
    name_attr: str
    parent_attr: str
    cascade: str

    def key(self, name: str, parent_key: str) -> str:
        return f"{name}|{parent_key}"


@dataclass(frozen=True)
class ResourceType:
    """What the tool knows of one resource type, independent of any provider.

    - ``key_field``: the attribute that is the item's key (``key_fallback`` when that is empty).
    - ``schema_def``: the item's definition under ``$defs`` of resources.schema.json (user types).
    - ``apply_rank``: creates and updates run in ascending rank, deletes in descending rank;
      sub-resource deletes run before everything else (detach first).
    - ``number_fields``/``number_set_fields``: one E.164 number / a set of numbers (dotted paths).
    - ``name_set_fields``: sets of names (sorted, unique); ``lowercase_fields``: compared lowercased.
    - ``local_time_fields``: wall-clock date-times; ``instant_fields``: points in time (UTC).
    - ``references``: names other items must declare (checked at validate, followed by apply).
    - ``sub``: set for a sub-resource (not declared in files, expanded from its parent's field).
    """

    name: str
    singular: str
    apply_rank: int
    key_field: str = "name"
    key_fallback: str = ""
    schema_def: str = ""
    number_fields: tuple[str, ...] = ()
    number_set_fields: tuple[str, ...] = ()
    name_set_fields: tuple[str, ...] = ()
    lowercase_fields: tuple[str, ...] = ()
    local_time_fields: tuple[str, ...] = ()
    instant_fields: tuple[str, ...] = ()
    references: tuple[Reference, ...] = ()
    sub: SubResource | None = None

    @property
    def user(self) -> bool:
        """Declared by users in resource files (sub-resources are derived from their parent)."""
        return self.sub is None

    def key_of(self, attrs: Mapping[str, Any]) -> str:
        """The natural key of a normalized item."""
        if self.sub is not None:
            name, parent = attrs.get(self.sub.name_attr), attrs.get(self.sub.parent_attr)
            return self.sub.key(str(name or ""), str(parent or ""))
        value = attrs.get(self.key_field)
        if not value and self.key_fallback:
            value = attrs.get(self.key_fallback)
        return str(value or "")


# In the order types appear in resource files and exports.
TABLE: tuple[ResourceType, ...] = (
    ResourceType("groups", "group", apply_rank=0, schema_def="group"),
    ResourceType(
        "contacts",
        "contact",
        apply_rank=2,
        key_field="mobile",
        key_fallback="email",
        schema_def="contact",
        number_fields=("mobile",),
        name_set_fields=("groups",),
        lowercase_fields=("email",),
        references=(Reference("groups", "groups"),),
    ),
    ResourceType(
        "blocklist",
        "blocked number",
        apply_rank=4,
        key_field="mobile",
        schema_def="blocked",
        number_fields=("mobile",),
    ),
    ResourceType(
        "phone_lists", "phone list", apply_rank=1, schema_def="phone_list", number_set_fields=("numbers",)
    ),
    ResourceType(
        "reminders",
        "reminder",
        apply_rank=5,
        schema_def="reminder",
        number_fields=("attendant.mobile",),
        local_time_fields=("appointment",),
    ),
    ResourceType(
        "campaigns",
        "campaign",
        apply_rank=6,
        schema_def="campaign",
        number_set_fields=("to.numbers",),
        name_set_fields=("to.groups", "to.phone_lists"),
        instant_fields=("send_at",),
        references=(Reference("to.groups", "groups"), Reference("to.phone_lists", "phone_lists")),
    ),
    # Group membership managed with calls of its own (Intouch): expanded from a contact's `groups`.
    ResourceType(
        "memberships",
        "membership",
        apply_rank=3,
        key_field="",
        references=(Reference("group", "groups"), Reference("contact", "contacts")),
        sub=SubResource(
            parent="contacts", field="groups", name_attr="group", parent_attr="contact", cascade="groups"
        ),
    ),
)

TYPES: dict[str, ResourceType] = {t.name: t for t in TABLE}
# Types users declare in resource files, in file order.
USER_TYPES: tuple[str, ...] = tuple(t.name for t in TABLE if t.user)
# Dependency order of creates (deletes run in reverse).
APPLY_ORDER: tuple[str, ...] = tuple(t.name for t in sorted(TABLE, key=lambda t: t.apply_rank))


def spec(type_: str) -> ResourceType:
    """The record of ``type_``; KeyError for a type the table does not know."""
    return TYPES[type_]


def sub_resources_of(parent: str) -> tuple[ResourceType, ...]:
    """The sub-resource types expanded from items of ``parent``."""
    return tuple(t for t in TABLE if t.sub is not None and t.sub.parent == parent)


def in_scope(type_: str, types: frozenset[str] | set[str] | None) -> bool:
    """Whether ``type_`` is in a ``--type`` selection (None: all); a sub-resource goes with its parent."""
    if types is None or type_ in types:
        return True
    record = TYPES.get(type_)
    return record is not None and record.sub is not None and record.sub.parent in types


def referenced_types() -> tuple[str, ...]:
    """User types other types refer to, in file order: validated before the others."""
    targets = {ref.target for t in TABLE if t.user for ref in t.references}
    return tuple(name for name in USER_TYPES if name in targets)
