"""The InTime provider: translates resources and changes to InTime calls (docs/providers/intime.md).

InTime can list groups, the block list and reminders; contacts and scheduled messages can only be
created (and messages removed while scheduled), so their ids live in the state file. Groups and
block-list entries are keyed by name and E.164 number; reminders and campaigns by the user's
``name``, mapped to their AppointmentId / MessageId through the state.

The per-kind translation to InTime's input elements lives in :mod:`.translate`, the plan-time
rules (refine, check) in :mod:`.planning` and the campaign writes in :mod:`.campaigns`; this
module reads, keeps the id maps and applies groups, contacts, the block list and reminders.
"""

from __future__ import annotations

import logging
from collections import defaultdict
from collections.abc import Callable, Collection, Mapping, Sequence
from datetime import UTC, datetime
from typing import Any, ClassVar

from reconciler.changes import Action, Change
from reconciler.config.types import AccountConfig
from reconciler.errors import Problem, ProviderError
from reconciler.model import InvalidNumber, Resource, local_time, normalize_attrs, normalize_number
from reconciler.providers.base import ApplyContext, LiveState, Outcome, Provider, StateView, handles
from reconciler.providers.intime import planning
from reconciler.providers.intime.campaigns import CampaignWriter
from reconciler.providers.intime.capabilities import CAPABILITIES, INFO
from reconciler.providers.intime.client import IntimeClient, IntimeError, NothingRemoved
from reconciler.providers.intime.translate import (
    contact_to_api,
    desired_attrs,
    reminder_edit_to_api,
    reminder_to_api,
    shortlist,
)

log = logging.getLogger(__name__)


class IntimeProvider(Provider):
    """One InTime Messenger account (``user`` + ``hash`` credentials)."""

    name: ClassVar[str] = "intime"
    default_url: ClassVar[str] = INFO.default_url
    capabilities = CAPABILITIES

    def __init__(self, account: AccountConfig, *, clock: Callable[[], datetime] | None = None) -> None:
        super().__init__(account)
        missing = [key for key in INFO.credentials if not account.credentials.get(key)]
        if missing:
            msg = (
                f"intime: account {account.name}: missing credential(s) {', '.join(missing)} "
                "(set them under credentials in reconciler.yaml, e.g. hash: ${INTIME_HASH})"
            )
            raise ProviderError(msg)
        self.client = IntimeClient(
            self.url,
            account.credentials["user"],
            account.credentials["hash"],
            rate_limit=account.rate_limit,
            limits=account.limits,
        )
        self.clock = clock or (lambda: datetime.now(UTC))
        self._campaigns = CampaignWriter(self.client, self.clock)

    def close(self) -> None:
        self.client.close()

    def _normalize(self, type_: str, raw: Mapping[str, Any]) -> dict[str, Any]:
        return normalize_attrs(type_, raw, self.account.region, INFO.timezone)

    def _resource(self, type_: str, key: str, attrs: dict[str, Any], ident: str) -> Resource:
        return Resource(self.account.name, type_, key, attrs, ident=ident)

    # -- read ------------------------------------------------------------------------------------
    def read(self, types: Collection[str], state: Mapping[str, Mapping[str, Any]]) -> LiveState:
        """Groups, block list and reminders (contacts and campaigns cannot be listed)."""
        live: LiveState = {}
        if "groups" in types:
            live["groups"] = self._read_groups()
        if "blocklist" in types:
            live["blocklist"] = self._read_blocklist()
        if "reminders" in types:
            live["reminders"] = self._read_reminders(state.get("reminders") or {})
        return live

    def _read_groups(self) -> list[Resource]:
        by_name: dict[str, list[int]] = defaultdict(list)
        for group in self.client.list_groups():
            by_name[self._normalize("groups", {"name": group.name})["name"]].append(group.id)
        duplicates = {name: ids for name, ids in by_name.items() if len(ids) > 1}
        if duplicates:
            named = "; ".join(
                f"{name!r} (ids {', '.join(map(str, ids))})" for name, ids in duplicates.items()
            )
            raise ProviderError(
                f"intime: read groups: several live groups share a name: {named}; the tool keys "
                "groups by name, so delete or rename the extra ones in the InTime web UI"
            )
        return [self._resource("groups", name, {"name": name}, str(ids[0])) for name, ids in by_name.items()]

    @staticmethod
    def _group_id(ctx: ApplyContext, name: str, what: str) -> int:
        """The InTime id of group ``name`` (read, or created earlier in this run)."""
        gid = ctx.id_of("groups", name)
        if gid is None or not gid.isdigit():
            raise ProviderError(
                f"intime: {what}: group {name!r} does not exist on InTime "
                "(declare it under groups in the same account)"
            )
        return int(gid)

    def _read_blocklist(self) -> list[Resource]:
        """Entries keyed by E.164; the ident is the number as InTime stores it (the list has no ids)."""
        out: dict[str, Resource] = {}
        for entry in self.client.list_nix():
            try:
                attrs = self._normalize("blocklist", {"mobile": entry.mobile})
            except ValueError as exc:
                log.warning("intime: read blocklist: keeping %r as written: %s", entry.mobile, exc)
                attrs = {"mobile": entry.mobile}
            out.setdefault(attrs["mobile"], self._resource("blocklist", attrs["mobile"], attrs, entry.mobile))
        return list(out.values())

    def _read_reminders(self, state: Mapping[str, Any]) -> list[Resource]:
        keys = {str(record.get("id")): key for key, record in state.items() if isinstance(record, Mapping)}
        out = []
        for reminder in self.client.list_reminders():
            raw: dict[str, Any] = {
                "appointment": reminder.appointment,
                "organizer": dict(reminder.organizer),
                "attendant": dict(reminder.attendant),
                "active": reminder.active,
                "message_date": local_time(reminder.message_date) if reminder.message_date else "",
                "message_text": reminder.message_text,
                "user_alias": reminder.user_alias,
            }
            key = keys.get(str(reminder.id))
            if key is not None:
                raw["name"] = key
            mobile = raw["attendant"].pop("mobile", "")
            attrs = self._normalize("reminders", raw)
            try:  # an odd number typed in the InTime UI must not break the whole read
                attrs["attendant"]["mobile"] = normalize_number(mobile, self.account.region) if mobile else ""
            except InvalidNumber as exc:
                log.warning(
                    "intime: read reminders: reminder %s: keeping the attendant mobile as written: %s",
                    reminder.id,
                    exc,
                )
                attrs["attendant"]["mobile"] = mobile
            out.append(self._resource("reminders", key or f"#{reminder.id}", attrs, str(reminder.id)))
        return out

    # -- refine (plan time, pure) ----------------------------------------------------------------
    @classmethod
    def refine(cls, change: Change, live: Resource | None, now: datetime) -> Change | Problem:
        """Sent campaigns cannot change; inactive reminders are replaced; campaign updates are replaces."""
        return planning.refine(change, live, now)

    # -- check (plan time, may read) ---------------------------------------------------------------
    def check(
        self, desired: Mapping[str, Mapping[str, Resource]], live: LiveState, state: StateView | None = None
    ) -> list[Problem]:
        """Warnings: a state file that looks lost (blocked recipients: reconciler.sms.audience)."""
        return planning.check(self.account.name, state or {}, desired, live)

    # -- apply (one handler per type and action, each taking a whole batch) ------------------------
    # groups
    @handles("groups", Action.CREATE, batch=True)
    def _create_groups(self, changes: Sequence[Change], ctx: ApplyContext) -> list[Outcome]:
        names = [str((c.after or {}).get("name") or c.key) for c in changes]
        what = f"create groups {shortlist(names)}"
        ids = self.client.add_groups(names, what=what)
        self._verify_groups(what, names, ids)
        return [
            Outcome(str(gid), dict(c.after or {"name": name}))
            for c, name, gid in zip(changes, names, ids, strict=True)
        ]

    def _verify_groups(self, what: str, names: Sequence[str], ids: Sequence[int]) -> None:
        """Created group ids must be distinct and (read back) carry the names asked for; contacts would
        otherwise be put into the wrong groups. A mismatch leaves the creates uncertain."""
        live = {group.id: group.name for group in self.client.list_groups(what=f"{what}: read back")}
        for name, gid in zip(names, ids, strict=True):
            wanted = self._normalize("groups", {"name": name})["name"]
            found = self._normalize("groups", {"name": live.get(gid, "")})["name"]
            if ids.count(gid) > 1 or found != wanted:
                why = "it was answered twice" if ids.count(gid) > 1 else f"reading it back gives {found!r}"
                msg = (
                    f"intime: {what}: InTime answered id {gid} for group {name!r}, but {why}; the ids are "
                    "not used (the groups are looked up by name instead)"
                )
                raise IntimeError(msg, maybe_committed=True)

    @handles("groups", Action.DELETE, batch=True)
    def _delete_groups(self, changes: Sequence[Change], ctx: ApplyContext) -> list[Outcome]:
        ids = [int(str(c.ident)) for c in changes]
        what = f"delete groups {shortlist([c.key for c in changes])}"
        try:
            removed = set(self.client.delete_groups(ids, delete_contacts=False, what=what))
        except NothingRemoved:
            removed = set()
        if removed != set(ids):  # skipped ids must be gone already; otherwise InTime refused them
            left = sorted({g.id for g in self.client.list_groups()} & (set(ids) - removed))
            if left:
                raise ProviderError(
                    f"intime: {what}: InTime did not remove group id(s) {', '.join(map(str, left))}"
                )
        return [Outcome(None) for _ in changes]

    # contacts
    @handles("contacts", Action.CREATE, batch=True)
    def _create_contacts(self, changes: Sequence[Change], ctx: ApplyContext) -> list[Outcome]:
        """Every contact of the batch in ONE contacts/add call, with its group memberships."""
        what = f"create contacts {shortlist([c.key for c in changes])}"
        contacts = []
        for change in changes:
            attrs = change.after or {}
            what = f"create contact {change.key}"
            group_ids = tuple(self._group_id(ctx, name, what) for name in attrs.get("groups") or ())
            contacts.append(contact_to_api(attrs, group_ids))
        ids = self.client.add_contacts(contacts, what=what)
        return [Outcome(str(cid), dict(c.after or {})) for c, cid in zip(changes, ids, strict=True)]

    # blocklist
    @handles("blocklist", Action.CREATE, batch=True)
    def _create_blocklist(self, changes: Sequence[Change], ctx: ApplyContext) -> list[Outcome]:
        mobiles = [str((c.after or {}).get("mobile") or c.key) for c in changes]
        self.client.add_nix(mobiles, what=f"add to blocklist {shortlist(mobiles)}")
        return [
            Outcome(mobile, dict(c.after or {"mobile": mobile}))
            for c, mobile in zip(changes, mobiles, strict=True)
        ]

    @handles("blocklist", Action.DELETE, batch=True)
    def _delete_blocklist(self, changes: Sequence[Change], ctx: ApplyContext) -> list[Outcome]:
        mobiles = [str(c.ident or c.key) for c in changes]
        what = f"delete from blocklist {shortlist([c.key for c in changes])}"
        try:
            removed = len(self.client.delete_nix(mobiles, what=what))
        except NothingRemoved:
            removed = 0
        if removed < len(mobiles):  # numbers not on the list are skipped: check none is left
            keys = {c.key for c in changes}
            left = sorted(r.key for r in self._read_blocklist() if r.key in keys)
            if left:
                raise ProviderError(f"intime: {what}: InTime did not remove {shortlist(left)}")
        return [Outcome(None) for _ in changes]

    # reminders
    def _add_reminders(self, attrs_list: Sequence[Mapping[str, Any]], keys: Sequence[str]) -> list[int]:
        """reminder/add, then deactivate the ones declared ``active: false``."""
        ids = self.client.add_reminders(
            [reminder_to_api(a) for a in attrs_list], what=f"create reminders {shortlist(list(keys))}"
        )
        inactive = [
            (rid, key)
            for rid, attrs, key in zip(ids, attrs_list, keys, strict=True)
            if attrs.get("active") is False
        ]
        if inactive:
            self._deactivate([rid for rid, _ in inactive], [key for _, key in inactive], strict=True)
        return ids

    def _deactivate(self, ids: Sequence[int], keys: Sequence[str], *, strict: bool) -> list[bool]:
        results = self.client.edit_reminders(
            [{"appointmentid": str(rid), "active": "false"} for rid in ids],
            what=f"deactivate reminders {shortlist(list(keys))}",
        )
        failed = [f"{key} (id {r.id}): {r.error}" for key, r in zip(keys, results, strict=True) if not r.ok]
        if strict and failed:
            raise ProviderError(f"intime: deactivate reminders: {'; '.join(failed)}")
        return [r.ok for r in results]

    @handles("reminders", Action.CREATE, batch=True)
    def _create_reminders(self, changes: Sequence[Change], ctx: ApplyContext) -> list[Outcome]:
        ids = self._add_reminders([c.after or {} for c in changes], [c.key for c in changes])
        return [Outcome(str(rid), dict(c.after or {})) for c, rid in zip(changes, ids, strict=True)]

    @handles("reminders", Action.UPDATE, batch=True)
    def _update_reminders(self, changes: Sequence[Change], ctx: ApplyContext) -> list[Outcome]:
        """reminder/edit sending only the changed elements of each reminder."""
        items, edited = [], []
        for change in changes:
            item = reminder_edit_to_api(change)
            if item:
                items.append({"appointmentid": str(change.ident), **item})
                edited.append(change)
        results = (
            self.client.edit_reminders(items, what=f"edit reminders {shortlist([c.key for c in edited])}")
            if items
            else []
        )
        failed = [f"{c.key} (id {r.id}): {r.error}" for c, r in zip(edited, results, strict=True) if not r.ok]
        if failed:
            done = len(edited) - len(failed)
            raise ProviderError(
                f"intime: edit reminders: {'; '.join(failed)}"
                + (f" ({done} other reminder(s) of the batch were updated)" if done else "")
            )
        return [Outcome(str(c.ident), desired_attrs(c, {})) for c in changes]

    @handles("reminders", Action.DELETE, batch=True)
    def _delete_reminders(self, changes: Sequence[Change], ctx: ApplyContext) -> list[Outcome]:
        """InTime has no delete: deactivate (``active=false``); already inactive is fine."""
        oks = self._deactivate([int(str(c.ident)) for c in changes], [c.key for c in changes], strict=False)
        return [
            Outcome(
                None, warnings=() if ok else (f"reminder {c.ident} was already inactive (or gone) on InTime",)
            )
            for c, ok in zip(changes, oks, strict=True)
        ]

    @handles("reminders", Action.REPLACE, batch=True)
    def _replace_reminders(self, changes: Sequence[Change], ctx: ApplyContext) -> list[Outcome]:
        """Add a new reminder; the old one stays (or is made) inactive, never silently active."""
        still_active = [c for c in changes if (c.before or {}).get("active") is not False]
        if still_active:
            self._deactivate(
                [int(str(c.ident)) for c in still_active], [c.key for c in still_active], strict=False
            )
        ids = self._add_reminders([c.after or {} for c in changes], [c.key for c in changes])
        return [
            Outcome(str(rid), dict(c.after or {}), (f"the old reminder {c.ident} stays inactive on InTime",))
            for c, rid in zip(changes, ids, strict=True)
        ]

    @handles("campaigns", Action.CREATE, batch=True)
    def _create_campaigns(self, changes: Sequence[Change], ctx: ApplyContext) -> list[Outcome]:
        return self._campaigns.create(changes, lambda name, what: self._group_id(ctx, name, what))

    @handles("campaigns", Action.DELETE, batch=True)
    def _delete_campaigns(self, changes: Sequence[Change], ctx: ApplyContext) -> list[Outcome]:
        return self._campaigns.delete(changes)

    @handles("campaigns", Action.REPLACE, batch=True)
    def _replace_campaigns(self, changes: Sequence[Change], ctx: ApplyContext) -> list[Outcome]:
        return self._campaigns.replace(changes, lambda name, what: self._group_id(ctx, name, what))


PROVIDER = IntimeProvider
