"""The Intouch provider: groups, contacts and group memberships over the Intouch REST API.

Translation only: client.py speaks the wire contract. Groups are keyed by ``Name``, contacts by
their number in E.164 (read with the account's ``NUMBER_PREFIX``/``NUMBER_LENGTH`` settings and
region), memberships by ``group|contact``. A live duplicate of a key (two groups with one name,
two contacts with one number) stops the run: the tool could not tell which one the config means.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Collection, Iterator, Mapping
from typing import Any

from reconciler.changes import Action, Change
from reconciler.config.types import AccountConfig
from reconciler.errors import NotFound, Problem, ProviderError
from reconciler.model import (
    MEMBERSHIPS,
    InvalidNumber,
    Resource,
    clean,
    key_of,
    membership_key,
    normalize_attrs,
    normalize_number,
)
from reconciler.pool import read_all
from reconciler.providers.base import ApplyContext, LiveState, Outcome, Provider, StateView, handles
from reconciler.providers.intouch.capabilities import INFO
from reconciler.providers.intouch.client import IntouchClient, Json

log = logging.getLogger(__name__)

# Contact attributes and their wire fields (section 4.2); "mobile" is PhoneNumber, handled apart.
CONTACT_FIELDS = {
    "first_name": "Firstname",
    "last_name": "Lastname",
    "email": "Email",
    "description": "Description",
    "description2": "Description2",
    "description3": "Description3",
}
CONTACT_WRITABLE = (
    "Firstname",
    "Lastname",
    "PhoneNumber",
    "Email",
    "Description",
    "Description2",
    "Description3",
    "CPAAccepted",
    "IsPrivate",
)
_CONTACT_PAIRS = tuple(CONTACT_FIELDS.items())
GROUP_WRITABLE = ("Name", "Description", "IsPrivate")
MERGE_ADVICE = "merge them in the Intouch web UI so each is there once, then run again"


def number_from_api(raw: str, region: str, prefix: str, length: int) -> str:
    """A stored PhoneNumber as E.164 (section 11.13).

    Digits without ``+`` carry the country code, except a number shorter than ``NUMBER_LENGTH``,
    which gets ``NUMBER_PREFIX`` first (``90555817`` -> ``+4790555817``). Numbers with ``+``, ``00``
    or a national trunk ``0`` are read with the account's region. Raises InvalidNumber.
    """
    text = str(raw).strip()
    if text.isascii() and text.isdigit():  # the usual stored form, without the per-character scan
        digits, plain = text, True
    else:
        digits = "".join(ch for ch in text if ch.isdigit())
        plain = bool(digits) and all(ch.isdigit() or ch in " -.()" for ch in text)
    if not plain or digits.startswith("0") or not length:
        return normalize_number(text, region)
    if len(digits) < length and prefix:
        digits = prefix + digits
    return normalize_number("+" + digits, region)


def number_to_api(mobile: str) -> str:
    """An E.164 number as Intouch stores numbers: digits with the country code, no ``+``."""
    return mobile.lstrip("+")


class IntouchProvider(Provider):
    """One Intouch user (``username@domain``) and the groups and contacts it can see."""

    name = "intouch"
    default_url = INFO.default_url
    capabilities = INFO.capabilities

    def __init__(self, account: AccountConfig) -> None:
        super().__init__(account)
        creds = account.credentials
        missing = [key for key in INFO.credentials if not creds.get(key)]
        if missing:
            msg = (
                f"intouch: account {account.name!r} lacks credentials {', '.join(missing)} "
                "(set them under credentials: in reconciler.yaml)"
            )
            raise ProviderError(msg)
        self.client = IntouchClient(
            self.url,
            username=creds["username"],
            domain=creds["domain"],
            password=creds["password"],
            rate_limit=account.rate_limit,
            limits=account.limits,
        )
        self._user: Json | None = None
        self._numbering: tuple[str, int] | None = None  # NUMBER_PREFIX, NUMBER_LENGTH from /user
        self.group_ids: dict[str, int] = {}  # group name -> GroupId
        self.contact_ids: dict[str, int] = {}  # contact key -> ContactId
        self._contact_keys: dict[int, str] = {}  # ContactId -> contact key
        # What the refresh read, so an update writes the whole object without reading it again:
        # the live attributes per ContactId (shared with the live items, no copy), the wire form
        # of the few contacts those attributes cannot reproduce, and every group's wire form.
        self._contact_attrs: dict[int, Mapping[str, Any]] = {}
        self._contact_wire: dict[int, Json] = {}
        self._group_wire: dict[int, Json] = {}

    def close(self) -> None:
        self.client.close()

    # -- reading ----------------------------------------------------------------------------------
    def user(self) -> Json:
        """``GET /user``, once per run."""
        if self._user is None:
            self._user = self.client.user()
        return self._user

    def read(self, types: Collection[str], state: Mapping[str, Mapping[str, Any]]) -> LiveState:
        """Read groups, contacts and memberships (memberships need the other two read as well)."""
        wanted = set(types)
        out: LiveState = {}
        if wanted & {"groups", MEMBERSHIPS}:
            groups = self._read_groups()
            if "groups" in wanted:
                out["groups"] = groups
        if MEMBERSHIPS in wanted:
            contacts, memberships = self._read_contacts_and_memberships()
            if "contacts" in wanted:
                out["contacts"] = contacts
            out[MEMBERSHIPS] = memberships
        elif "contacts" in wanted:
            out["contacts"] = self._read_contacts(self.client.contacts())
        log.info("read: account=%s %s", self.account.name, " ".join(f"{t}={len(v)}" for t, v in out.items()))
        return out

    def _read_groups(self) -> list[Resource]:
        self.group_ids = {}
        found = []
        self._group_wire = {}
        for group in self.client.groups():
            gid = int(group["GroupId"])
            self._group_wire[gid] = {field: group.get(field) for field in GROUP_WRITABLE}
            raw = {"name": group.get("Name") or "", "description": group.get("Description")}
            attrs = normalize_attrs("groups", raw, self.account.region, INFO.timezone)
            item = Resource(self.account.name, "groups", key_of("groups", attrs), attrs, ident=str(gid))
            self._refuse_duplicate("groups named", item.key, self.group_ids.get(item.key), gid)
            self.group_ids[item.key] = gid
            found.append(item)
        return found

    def _read_contacts(self, listed: list[Json]) -> list[Resource]:
        """The live contacts from the contact list's answer (emptied on the way)."""
        self.contact_ids, self._contact_keys = {}, {}
        self._contact_attrs, self._contact_wire = {}, {}
        found = []
        listed.reverse()
        while listed:  # popped one by one, so each wire dict is freed once translated (peak memory)
            contact = listed.pop()
            item = self.contact_resource(contact)
            cid = int(contact["ContactId"])
            self._contact_attrs[cid] = item.attrs
            if not _reproducible(contact, item.attrs):
                self._contact_wire[cid] = {field: contact.get(field) for field in CONTACT_WRITABLE}
            self._refuse_duplicate("contacts numbered", item.key, self.contact_ids.get(item.key), cid)
            self.contact_ids[item.key] = cid
            self._contact_keys[cid] = item.key
            found.append(item)
        return found

    def _read_contacts_and_memberships(self) -> tuple[list[Resource], list[Resource]]:
        """The contacts, and one member list per group, read concurrently (:mod:`reconciler.pool`).

        A member list names its contacts by ContactId, which is all that is kept of it, so the
        contact list is read beside the member lists (its wait overlaps theirs) and translated
        once they are in: translating while they arrive would make both fight for the
        interpreter. A member the contact list lacks (created between the reads) is read alone;
        one gone by then is no member. The memberships come in the contact list's order, each
        contact's in the order of the groups.
        """
        groups = list(self.group_ids.items())
        jobs: list[int | None] = [None, *(gid for _, gid in groups)]  # None: the contact list

        def fetch(job: int | None) -> list[Any]:
            if job is None:
                return self.client.contacts()
            return [int(contact["ContactId"]) for contact in self.client.members(job)]

        listed, *lists = read_all(fetch, jobs)
        contacts = self._read_contacts(listed)
        # The memberships in the contact list's order, each contact's in the order of the groups:
        # the planner walks them beside the contacts' declarations (reconciler.pairing).
        keys = self._contact_keys  # ContactId -> key, in the contact list's order
        position = {cid: at for at, cid in enumerate(keys)}
        joined: list[Any] = [None] * len(keys)  # per contact: its group's index, or a list of them
        unlisted: dict[int, list[int]] = {}  # members the contact list lacks -> group indexes
        for index, members in enumerate(lists):
            for cid in members:
                at = position.get(cid)
                if at is None:
                    unlisted.setdefault(cid, []).append(index)
                    continue
                seen = joined[at]
                if seen is None:
                    joined[at] = index  # one group, the common case: no list
                elif type(seen) is int:
                    joined[at] = [seen, index]
                else:
                    seen.append(index)
        del position
        account, join = self.account.name, membership_key

        def rows() -> Iterator[tuple[tuple[int, str], Any]]:
            yield from zip(keys.items(), joined, strict=True)
            for cid, indexes in unlisted.items():
                unlisted_key = self._unlisted_contact_key(cid)  # read alone
                if unlisted_key is not None:
                    yield (cid, unlisted_key), indexes

        found = []
        for (cid, key), seen in rows():
            if seen is None:
                continue
            for index in (seen,) if type(seen) is int else seen:
                name, gid = groups[index]
                attrs = {"group": name, "contact": key}
                found.append(Resource(account, MEMBERSHIPS, join(name, key), attrs, f"{gid}:{cid}"))
        return contacts, found

    def _unlisted_contact_key(self, cid: int) -> str | None:
        """The key of a member the contact list lacks, read alone; None if it is gone."""
        try:
            contact = self.client.contact(cid)
        except NotFound:
            return None
        key = self.contact_resource(contact).key
        self._contact_keys[cid] = key
        return key

    def contact_resource(self, contact: Mapping[str, Any]) -> Resource:
        """A wire Contact as a live contact (no groups: memberships are their own type)."""
        raw = {attr: contact.get(field) for attr, field in CONTACT_FIELDS.items()}
        attrs = normalize_attrs("contacts", raw, self.account.region, INFO.timezone)
        attrs["mobile"] = self.mobile_from_api(contact.get("PhoneNumber"), contact.get("ContactId"))
        return Resource(
            self.account.name,
            "contacts",
            key_of("contacts", attrs),
            attrs,
            ident=str(contact.get("ContactId")),
        )

    def mobile_from_api(self, raw: Any, contact_id: Any = None) -> str | None:
        """E.164 for a stored PhoneNumber; one that is no phone number is kept as written (logged)."""
        if raw in (None, ""):
            return None
        if self._numbering is None:
            settings = {str(s.get("Name")): str(s.get("Value")) for s in self.user().get("Settings") or ()}
            length = settings.get("NUMBER_LENGTH", "")
            self._numbering = (settings.get("NUMBER_PREFIX", ""), int(length) if length.isdigit() else 0)
        try:
            return number_from_api(str(raw), self.account.region, *self._numbering)
        except InvalidNumber as exc:
            log.warning("read: intouch contact %s: %s; compared as written", contact_id, exc)
            return str(clean(raw))

    def _refuse_duplicate(self, what: str, key: str, first: int | None, second: int) -> None:
        if first is not None:
            msg = (
                f"intouch: read: account {self.account.name!r} has two live {what} {key!r} "
                f"(ids {first} and {second}); {MERGE_ADVICE}"
            )
            raise ProviderError(msg)

    def check(
        self, desired: Mapping[str, Mapping[str, Resource]], live: LiveState, state: StateView | None = None
    ) -> list[Problem]:
        """Warn when the Intouch user lacks the permission a declared type needs (section 8)."""
        functions = set(self.user().get("AllowedFunctions") or ())
        needs = {"groups": "EDIT_GROUP", "contacts": "EDIT_CONTACT"}
        return [
            Problem(
                f"intouch: account {self.account.name!r}: the Intouch user lacks {right}, so "
                f"changes to {type_} will be refused (ask the Intouch administrator for it)",
                severity="warning",
            )
            for type_, right in needs.items()
            if desired.get(type_) and right not in functions
        ]

    # -- applying (one handler per type and action; ids come from the ApplyContext) ----------------
    @handles("groups", Action.CREATE)
    def _create_group(self, change: Change, ctx: ApplyContext) -> Outcome:
        after = change.after or {}
        gid = self.client.create_group(
            {
                "Name": after.get("name", change.key),
                "Description": after.get("description"),
                "IsPrivate": False,
            }
        )
        self._verify_group(change, gid)
        return Outcome(str(gid), dict(after))

    def _verify_group(self, change: Change, gid: int) -> None:
        """The id a create returned must be a group carrying the name asked for (read back).

        A wrong id would put members into another group and report success. A mismatch raises with
        ``maybe_committed``: the applier then finds the group by name instead of trusting the id.
        """
        live = self.client.group(gid)
        raw = {"name": live.get("Name") or "", "description": live.get("Description")}
        found = key_of("groups", normalize_attrs("groups", raw, self.account.region, INFO.timezone))
        if found != change.key:
            self._wrong_id(change, gid, f"reading it back gives group {found!r}")

    def _wrong_id(self, change: Change, ident: int, why: str) -> None:
        msg = (
            f"intouch: create {change.address}: the API answered id {ident}, but {why}; the id is not "
            "used (the item is looked up by its key instead)"
        )
        raise ProviderError(msg, maybe_committed=True)

    @handles("groups", Action.UPDATE)
    def _update_group(self, change: Change, ctx: ApplyContext) -> Outcome:
        """PUT the whole group: the planned fields over what the refresh read (GET if it did not)."""
        gid = _ident(change)
        live = self._group_wire.get(gid) or self.client.group(gid)
        after = change.after or {}
        body = {
            "Name": after.get("name", live.get("Name")),
            "Description": after.get("description", live.get("Description")),
            "IsPrivate": bool(live.get("IsPrivate")),
        }
        self.client.update_group(gid, body)
        return Outcome(str(gid), change.wanted)

    @handles("groups", Action.DELETE)
    def _delete_group(self, change: Change, ctx: ApplyContext) -> Outcome:
        return self._delete(change, lambda: self.client.delete_group(_ident(change), repr(change.key)))

    @handles("contacts", Action.CREATE)
    def _create_contact(self, change: Change, ctx: ApplyContext) -> Outcome:
        after = change.after or {}
        body: Json = {
            "PhoneNumber": number_to_api(after.get("mobile") or change.key),
            "CPAAccepted": False,
            "IsPrivate": False,
        }
        body.update({field: after.get(attr) for attr, field in CONTACT_FIELDS.items()})
        cid = self.client.create_contact(body, change.key)
        taken = self._contact_keys.get(cid)  # every contact read or created in this run, by id
        if taken is not None and taken != change.key:
            self._wrong_id(change, cid, f"that id belongs to contact {taken}")
        self._contact_keys[cid] = change.key
        return Outcome(str(cid), dict(after))

    @handles("contacts", Action.UPDATE)
    def _update_contact(self, change: Change, ctx: ApplyContext) -> Outcome:
        """PUT the whole contact: the planned fields over what the refresh read (undeclared fields
        kept). Only a contact the refresh did not read is read first."""
        cid = _ident(change)
        live = self._contact_wire.get(cid)
        if live is None and cid in self._contact_attrs:
            live = _wire_of(self._contact_attrs[cid])
        if live is None:
            live = self.client.contact(cid)
        body: Json = {field: live.get(field) for field in CONTACT_WRITABLE}
        for attr, value in (change.after or {}).items():
            if attr == "mobile":
                body["PhoneNumber"] = number_to_api(value)
            elif attr in CONTACT_FIELDS:
                body[CONTACT_FIELDS[attr]] = value
        self.client.update_contact(cid, body, change.key)
        return Outcome(str(cid), change.wanted)

    @handles("contacts", Action.DELETE)
    def _delete_contact(self, change: Change, ctx: ApplyContext) -> Outcome:
        return self._delete(change, lambda: self.client.delete_contact(_ident(change), change.key))

    @handles(MEMBERSHIPS, Action.CREATE)
    def _add_member(self, change: Change, ctx: ApplyContext) -> Outcome:
        after = change.after or {}
        gid, cid = self._member_ids(change, after, ctx)
        self.client.add_member(gid, cid, self._member_label(after))
        return Outcome(f"{gid}:{cid}", dict(after))

    @handles(MEMBERSHIPS, Action.DELETE)
    def _remove_member(self, change: Change, ctx: ApplyContext) -> Outcome:
        before = change.before or {}
        if change.ident and ":" in change.ident:
            gid, cid = (int(part) for part in change.ident.split(":", 1))
        else:
            gid, cid = self._member_ids(change, before, ctx)
        return self._delete(change, lambda: self.client.remove_member(gid, cid, self._member_label(before)))

    def _member_ids(self, change: Change, attrs: Mapping[str, Any], ctx: ApplyContext) -> tuple[int, int]:
        group, contact = attrs.get("group"), attrs.get("contact")
        gid, cid = ctx.id_of("groups", str(group)), ctx.id_of("contacts", str(contact))
        if gid is None or cid is None or not gid.isdigit() or not cid.isdigit():
            unknown = f"group {group!r}" if gid is None else f"contact {contact}"
            msg = (
                f"intouch: {change.action.value} member {self._member_label(attrs)}: {unknown} is not in "
                "the account (it was neither read nor created in this run); run plan again"
            )
            raise ProviderError(msg)
        return int(gid), int(cid)

    @staticmethod
    def _member_label(attrs: Mapping[str, Any]) -> str:
        return f"{attrs.get('contact')} of group {attrs.get('group')!r}"

    @staticmethod
    def _delete(change: Change, call: Callable[[], None]) -> Outcome:
        """Run a delete; an item that is already gone counts as deleted, with a warning."""
        try:
            call()
        except NotFound:
            return Outcome(None, None, (f"{change.address} was already gone",))
        return Outcome(None, None)


def _wire_of(attrs: Mapping[str, Any]) -> Json:
    """The writable wire fields of a contact whose live attributes reproduce them exactly."""
    mobile = attrs.get("mobile")
    body: Json = {field: attrs.get(attr) for attr, field in CONTACT_FIELDS.items()}
    body.update(PhoneNumber=number_to_api(mobile) if mobile else None, CPAAccepted=False, IsPrivate=False)
    return body


def _reproducible(contact: Mapping[str, Any], attrs: Mapping[str, Any]) -> bool:
    """True when :func:`_wire_of` gives back the contact's writable fields as stored (no flags set,
    nothing that normalization changed: case of an e-mail, spaces, a short or national number)."""
    if contact.get("CPAAccepted") or contact.get("IsPrivate"):
        return False
    mobile = attrs.get("mobile")
    if (contact.get("PhoneNumber") or None) != (number_to_api(mobile) if mobile else None):
        return False
    for attr, field in _CONTACT_PAIRS:  # a plain loop: this runs for every contact read
        if contact.get(field) != attrs.get(attr):
            return False
    return True


def _ident(change: Change) -> int:
    if not change.ident or not str(change.ident).isdigit():
        raise ProviderError(
            f"intouch: {change.action.value} {change.address}: no Intouch id for it; run plan again"
        )
    return int(change.ident)


PROVIDER = IntouchProvider
