"""Resources, keys and normalization: plain frozen data, no I/O.

A resource is ``(account, type, key, attrs)``. Attributes are JSON-compatible values already in
their canonical form (E.164 numbers, stripped strings, sorted lists for sets), so the planner can
compare them with ``==``. Normalization happens once: when the config is loaded and when a
provider reads live state, both through the functions here.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Iterable, Iterator, KeysView, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, TypeVar

import phonenumbers

from reconciler import phone
from reconciler.types import APPLY_ORDER, TABLE, TYPES, ResourceType
from reconciler.types import USER_TYPES as USER_TYPES

# Kept for the providers that name it (Intouch); the core reads the table in reconciler.types.
MEMBERSHIPS = "memberships"
# Dependency order used to sort creates (deletes run in reverse): from the type table.
TYPE_ORDER: tuple[str, ...] = APPLY_ORDER


Attrs = Mapping[str, Any]


_T = TypeVar("_T")

if TYPE_CHECKING:
    from typing_extensions import dataclass_transform

    @dataclass_transform(frozen_default=True, field_specifiers=(field,))
    def _immutable(cls: type[_T]) -> type[_T]: ...

else:

    def _immutable(cls):
        """A slotted dataclass, frozen for the type checker (mypy refuses an assignment to a field)
        and plain at run time: the frozen __init__ sets each field through object.__setattr__,
        1.1 us per item against 0.26 us, and a plan of 100,000 contacts builds ~400,000 resources.
        Hashed from its fields, as a frozen dataclass is."""
        return dataclass(slots=True, unsafe_hash=True)(cls)


@_immutable
class Origin:
    """Where a value was written: file, 1-based line and column."""

    path: str
    line: int = 0
    col: int = 0

    def __str__(self) -> str:
        return f"{self.path}:{self.line}:{self.col}" if self.line else self.path


@_immutable
class Resource:
    """One declared or live item, never changed once built (see ``_immutable``).

    ``attrs`` is treated as immutable once built. ``ident`` is the provider's id for live items
    (``None`` for desired ones); ``origin`` is where a desired item was declared.
    """

    account: str
    type: str
    key: str
    attrs: Attrs
    ident: str | None = None
    origin: Origin | None = field(default=None, compare=False)


def membership_key(group: str, contact: str) -> str:
    """The key of a membership: the group name and the contact key, joined by ``|``."""
    relation = TYPES[MEMBERSHIPS].sub
    assert relation is not None
    return relation.key(group, contact)


class SubItems(Mapping[str, "Resource"]):
    """The sub-items some parents declare, keyed as the type table says; each item is built when
    it is asked for.

    A sub-item is its key (``{name_attr: name, parent_attr: parent key}``), so the planner needs
    the items only for the keys the live side lacks: at 100,000 contacts, building every
    membership cost 200,000 objects for the few that are created. The planner walks
    :meth:`entries` beside the live side and asks :meth:`declares` of the live items it cannot
    pair on the way (:mod:`reconciler.pairing`), so it builds no map of the keys either; the
    Mapping methods build that map on first use.
    """

    __slots__ = ("_account", "_by_key", "_parents", "_relation", "_sub")

    def __init__(self, sub: ResourceType, account: str, parents: Mapping[str, Resource]) -> None:
        relation = sub.sub
        assert relation is not None
        self._sub, self._account, self._relation, self._parents = sub.name, account, relation, parents
        self._by_key: dict[str, Resource] | None = None  # item key -> its parent, built on first use

    def entries(self) -> Iterator[tuple[str, Resource]]:
        """``(item key, the parent that declares it)`` per sub-item, in declaration order."""
        join, field = self._relation.key, self._relation.field
        for parent in self._parents.values():
            names = parent.attrs.get(field)
            if names:
                parent_key = parent.key
                for name in names:
                    yield join(name, parent_key), parent

    def declares(self, key: str, live: Resource) -> bool:
        """Whether the live sub-item ``live``, keyed ``key``, is one of these, found through its
        parent (``live.attrs`` name the parent and the name, as the type table keys them)."""
        relation = self._relation
        parent_key, name = live.attrs.get(relation.parent_attr), live.attrs.get(relation.name_attr)
        parent = self._parents.get(parent_key) if isinstance(parent_key, str) else None
        if parent is None or not isinstance(name, str):
            return False
        return name in (parent.attrs.get(relation.field) or ()) and relation.key(name, parent.key) == key

    def item(self, key: str, parent: Resource) -> Resource:
        """The sub-item ``key`` that ``parent`` declares."""
        relation = self._relation
        name = next(n for n in parent.attrs[relation.field] if relation.key(n, parent.key) == key)
        attrs = {relation.name_attr: name, relation.parent_attr: parent.key}
        return Resource(self._account, self._sub, key, attrs, None, parent.origin)

    def _keys(self) -> dict[str, Resource]:
        if self._by_key is None:
            self._by_key = dict(self.entries())
        return self._by_key

    def __getitem__(self, key: str) -> Resource:
        return self.item(key, self._keys()[key])

    def __contains__(self, key: object) -> bool:
        return key in self._keys()

    def __iter__(self) -> Iterator[str]:
        return iter(self._keys())

    def __len__(self) -> int:
        return len(self._keys())

    def keys(self) -> KeysView[str]:
        return self._keys().keys()  # the dict's own view: its membership test costs no Python call


def expand_sub_resources(sub: ResourceType, account: str, parents: Mapping[str, Resource]) -> SubItems:
    """The items of the sub-resource ``sub`` that the parents declare in their ``sub.field``.

    Parents that do not declare the field get no sub-items (theirs stay unmanaged). The parents
    themselves are not copied: the planner compares them without the field. Pure.
    """
    return SubItems(sub, account, parents)


class InvalidNumber(ValueError):
    """A phone number that cannot be read as a valid number for the region."""


# Numbers already read in this process: text (with the region, unless it starts with "+") ->
# E.164. Unbounded up to a size no config reaches: a bounded LRU of 262,144 entries made desired
# and live numbers evict each other at 300,000 contacts, and refresh re-parsed every number. An
# accepted number in E.164 reads as itself (checked for every region's example numbers in the
# tests), so it is entered too: a live side stored in E.164 finds the numbers the config wrote in
# national form without parsing them again.
_NUMBERS: dict[str | tuple[str, str], str] = {}
_NUMBERS_MAX = 4_000_000


def normalize_number(raw: str | int, region: str) -> str:
    """Return ``raw`` as E.164 (``+46701234567``), reading national forms with ``region``.

    ``00`` international prefixes and digits-only numbers that already carry a country code
    (``4712345678``, as some APIs store them) are understood. Raises :class:`InvalidNumber`.
    Results are remembered: the same number is read once per process, whether desired or live.
    """
    text = str(raw).strip()
    key: str | tuple[str, str] = text if text.startswith("+") else (region or "", text)
    found = _NUMBERS.get(key)
    if found is None:
        found = _normalize(text, region or "")
        if len(_NUMBERS) >= _NUMBERS_MAX:
            _NUMBERS.clear()
        _NUMBERS[key] = found
        _NUMBERS[found] = found
    return found


def share_numbers(type_: str, attrs: dict[str, Any]) -> None:
    """Make each top-level number of ``attrs`` (E.164, normalized by another process) this
    process's own copy of it, the one :func:`normalize_number` gives for the live side.

    A parse worker's items arrive with strings of their own; with one object per number, the
    planner's lookups of desired keys in live items match on identity without comparing text.
    """
    for path in NUMBER_FIELDS.get(type_, ()):
        value = attrs.get(path)
        if type(value) is str and value[:1] == "+":
            attrs[path] = _NUMBERS.setdefault(value, value)


def _normalize(raw: str, region: str) -> str:
    text = str(raw).strip()
    if not text:
        raise InvalidNumber("empty phone number")
    candidates = [text]
    digits = "" if text.startswith("+") else "".join(ch for ch in text if ch.isdigit())
    if text.startswith("00"):
        candidates = ["+" + digits[2:]]
    elif not text.startswith(("+", "0")) and len(digits) >= 10:
        # Digits with a country code but no "+": try the international reading second.
        candidates = [text, "+" + digits]
    for candidate in candidates:
        # Valid numbers pass; so do numbers of a possible length in a known country, because
        # phonenumbers' metadata lags new ranges (and Ofcom's drama range 07700 900xxx).
        # "+digits" text is answered from the metadata without the general machinery, exactly
        # as below (reconciler.phone); its E.164 form is the text itself.
        accepted = phone.accepted(candidate)
        if accepted is not None:
            if accepted:
                return candidate
            continue
        try:
            parsed = phonenumbers.parse(candidate, region.upper() or None)
        except phonenumbers.NumberParseException:
            continue
        # The cheap length test runs first: the pattern tests of is_valid_number cost ten times more.
        if (
            phonenumbers.is_possible_number(parsed)
            and phonenumbers.region_code_for_country_code(parsed.country_code or 0) != "ZZ"
        ) or phonenumbers.is_valid_number(parsed):
            return phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.E164)
    hint = f" for region {region}" if region else ""
    raise InvalidNumber(f"{text!r} is not a valid phone number{hint}")


_KINDS: dict[str, int] = {}  # E.164 -> phonenumbers.PhoneNumberType, read once per number


def number_kind(e164: str) -> int:
    """The PhoneNumberType of a normalized number (``UNKNOWN``: possible but not valid).

    Normalization accepts possible numbers without this pattern test; validation of the declared
    numbers (config/strict.py) asks for it, once per number, through reconciler.phone (the library
    itself for numbers outside its fast form).
    """
    kind = _KINDS.get(e164)
    if kind is None:
        if len(_KINDS) >= _NUMBERS_MAX:
            _KINDS.clear()
        kind = _KINDS[e164] = phone.kind(e164)
    return kind


# +digits read as phonenumbers.parse reads them, or None: kept here under its old name.
_parse_e164 = phone.parse_e164


def clean(value: Any) -> Any:
    """Canonical form of a plain value: strings stripped and in Unicode NFC (``Å`` typed as one
    character or as ``A`` plus a ring is one name), mappings and lists cleaned recursively."""
    kind = type(value)  # exact types first: isinstance against Mapping is slow, and this runs per value
    if kind is str:
        return _nfc(value.strip())
    if value is None or kind is int or kind is bool:
        return value
    if kind is dict:
        out: dict[Any, Any] = {}
        for k, v in value.items():  # inline for the usual flat item of strings and None
            if type(v) is str:
                v = v.strip()
                out[k] = v if v.isascii() else _nfc(v)
            elif v is None:
                out[k] = None
            else:
                out[k] = clean(v)
        return out
    if kind is list:
        return [clean(v) for v in value]
    if isinstance(value, str):
        return _nfc(value.strip())
    if isinstance(value, Mapping):
        return {k: clean(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [clean(v) for v in value]
    return value


def _nfc(text: str) -> str:
    return (
        text
        if text.isascii() or unicodedata.is_normalized("NFC", text)
        else unicodedata.normalize("NFC", text)
    )


def name_set(values: Iterable[str] | None) -> list[str]:
    """A set of names as a sorted list without duplicates or blanks."""
    return sorted({str(v).strip() for v in values or () if str(v).strip()})


def get_path(attrs: Attrs, path: str, default: Any = None) -> Any:
    """Read a dotted path (``attendant.mobile``) from nested mappings; ``default`` when absent."""
    if "." not in path:  # most fields are top-level
        return attrs.get(path, default) if type(attrs) is dict or isinstance(attrs, Mapping) else default
    value: Any = attrs
    for part in path.split("."):
        if not isinstance(value, Mapping) or part not in value:
            return default
        value = value[part]
    return value


def project(live: Attrs, declared: Attrs) -> dict[str, Any]:
    """The part of ``live`` that ``declared`` speaks about, nested mappings included.

    The planner compares ``declared`` with ``project(live, declared)``: attributes the user did
    not declare are never compared (and so never make plan noise).
    """
    out: dict[str, Any] = {}
    for name, want in declared.items():
        have = live.get(name)
        # Most values are strings: rule them out before the (slow) isinstance against Mapping.
        if type(want) is not str and isinstance(want, Mapping) and isinstance(have, Mapping):
            out[name] = project(have, want)
        else:
            out[name] = have
    return out


# -- per-type normalization ------------------------------------------------------------------------

# Views of the type table (reconciler.types) by type: dotted paths of fields holding one phone
# number, a set of numbers, a set of names, a local date-time, an instant; the key attribute.
Paths = dict[str, tuple[str, ...]]
NUMBER_FIELDS: Paths = {t.name: t.number_fields for t in TABLE if t.number_fields}
NUMBER_SET_FIELDS: Paths = {t.name: t.number_set_fields for t in TABLE if t.number_set_fields}
NAME_SET_FIELDS: Paths = {t.name: t.name_set_fields for t in TABLE if t.name_set_fields}
LOCAL_TIME_FIELDS: Paths = {t.name: t.local_time_fields for t in TABLE if t.local_time_fields}
INSTANT_FIELDS: Paths = {t.name: t.instant_fields for t in TABLE if t.instant_fields}
KEY_FIELDS: dict[str, str] = {t.name: t.key_field for t in TABLE if t.user}


class InvalidValue(ValueError):
    """An attribute value that cannot be normalized; ``path`` names the attribute."""

    def __init__(self, path: str, message: str) -> None:
        super().__init__(message)
        self.path = path


def _set_path(attrs: dict[str, Any], path: str, value: Any) -> None:
    if "." not in path:
        attrs[path] = value
        return
    *parents, last = path.split(".")
    target = attrs
    for part in parents:
        target = target[part]
    target[last] = value


def local_time(value: Any) -> str:
    """A wall-clock date-time as ``YYYY-MM-DDTHH:MM:SS`` (offset, if any, dropped after conversion)."""
    from datetime import date, datetime

    if isinstance(value, datetime):
        dt = value
    elif isinstance(value, date):
        dt = datetime(value.year, value.month, value.day)
    else:
        try:
            dt = datetime.fromisoformat(str(value).strip().replace(" ", "T"))
        except ValueError:
            raise ValueError(f"{value!r} is not a date-time (write 2026-12-01T08:30:00)") from None
    return dt.replace(tzinfo=None, microsecond=0).isoformat()


def instant(value: Any, tz: str) -> str:
    """A point in time as UTC ``YYYY-MM-DDTHH:MM:SSZ``; a value without offset is read in ``tz``."""
    from datetime import UTC, date, datetime
    from zoneinfo import ZoneInfo

    if isinstance(value, datetime):
        dt = value
    elif isinstance(value, date):
        dt = datetime(value.year, value.month, value.day)
    else:
        text = str(value).strip()
        if text.endswith("Z"):
            text = text[:-1] + "+00:00"
        try:
            dt = datetime.fromisoformat(text.replace(" ", "T", 1))
        except ValueError:
            raise ValueError(f"{value!r} is not a date-time (write 2026-12-05T09:00:00+01:00)") from None
    if dt.tzinfo is None:
        dt = dt.replace(tzinfo=ZoneInfo(tz))
    return dt.astimezone(UTC).replace(microsecond=0).strftime("%Y-%m-%dT%H:%M:%SZ")


def normalize_attrs(type_: str, attrs: Attrs, region: str, tz: str = "UTC") -> dict[str, Any]:
    """Canonical form of one item's attributes (used for desired and live items alike).

    Raises :class:`InvalidValue` naming the attribute path that could not be read.
    """
    out: dict[str, Any] = clean(attrs if type(attrs) is dict else dict(attrs))  # a new dict either way
    record = TYPES.get(type_)
    for path in record.lowercase_fields if record is not None else ():
        if isinstance(get_path(out, path), str):
            _set_path(out, path, get_path(out, path).lower())
    for path in NUMBER_FIELDS.get(type_, ()):
        raw = get_path(out, path)
        if raw not in (None, ""):
            try:
                _set_path(out, path, normalize_number(raw, region))
            except InvalidNumber as exc:
                raise InvalidValue(path, str(exc)) from None
    for path in NUMBER_SET_FIELDS.get(type_, ()):
        raw = get_path(out, path)
        if raw is not None:
            numbers = set()
            for item in raw:
                try:
                    numbers.add(normalize_number(item, region))
                except InvalidNumber as exc:
                    raise InvalidValue(path, str(exc)) from None
            _set_path(out, path, sorted(numbers))
    for path in NAME_SET_FIELDS.get(type_, ()):
        raw = get_path(out, path)
        if raw is not None:
            _set_path(out, path, name_set(raw))
    for path in LOCAL_TIME_FIELDS.get(type_, ()):
        raw = get_path(out, path)
        if raw is not None:
            try:
                _set_path(out, path, local_time(raw))
            except ValueError as exc:
                raise InvalidValue(path, str(exc)) from None
    for path in INSTANT_FIELDS.get(type_, ()):
        raw = get_path(out, path)
        if raw is not None:
            try:
                _set_path(out, path, instant(raw, tz))
            except ValueError as exc:
                raise InvalidValue(path, str(exc)) from None
    return out


def key_of(type_: str, attrs: Attrs) -> str:
    """The natural key of a normalized item: its key field (or the type's fallback field)."""
    return TYPES[type_].key_of(attrs)
