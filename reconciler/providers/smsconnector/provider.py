"""The SMSConnector provider: phone lists, campaigns and opt-out checks over the 82830 Web API.

Translation only: URLs, the session and the envelope live in :mod:`.client`. Phone lists are read
live (every folder); campaigns cannot be read, so their ids and last applied attributes come from
state. Opt-outs (STOP/START) are read-only and reported by :meth:`SmsConnectorProvider.opt_outs`.

Number and date conversions live in :mod:`.translate`, refine and the checks in :mod:`.planning`.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Collection, Iterable, Mapping
from datetime import datetime
from typing import Any

from reconciler import pii
from reconciler.changes import Action, Change
from reconciler.config.types import AccountConfig
from reconciler.errors import Problem, ProviderError
from reconciler.model import InvalidNumber, Resource, get_path, key_of, normalize_attrs
from reconciler.pool import read_all
from reconciler.providers.base import ApplyContext, LiveState, Outcome, Provider, StateView, handles
from reconciler.providers.smsconnector import planning
from reconciler.providers.smsconnector.capabilities import ADD_ENTRIES_LIMIT, INFO
from reconciler.providers.smsconnector.client import (
    FAILED,
    ApiStatusError,
    NotFoundStatus,
    SmsConnectorClient,
)
from reconciler.providers.smsconnector.translate import (
    changed_value,
    launch_at_to_api,
    number_from_api,
    number_to_api,
)

log = logging.getLogger(__name__)


class SmsConnectorProvider(Provider):
    """One SMSConnector company account (see the module docstring)."""

    name = "smsconnector"
    default_url = INFO.default_url
    capabilities = INFO.capabilities

    def __init__(self, account: AccountConfig) -> None:
        super().__init__(account)
        self.client = SmsConnectorClient(
            self.url, account.credentials, rate_limit=account.rate_limit, limits=account.limits
        )
        self._folder_by_id: dict[int, str] | None = None

    def close(self) -> None:
        self.client.close()

    # -- reading ----------------------------------------------------------------------------------
    def folders(self) -> dict[str, int]:
        """Folder name -> id, root included as ``""`` -> 0 (read once; first of equal names wins)."""
        return {name: folder_id for folder_id, name in reversed(self._folder_names().items())}

    def _folder_names(self) -> dict[int, str]:
        """Folder id -> name, root 0 -> ``""`` (read once)."""
        if self._folder_by_id is None:
            self._folder_by_id = {0: ""}
            for folder in self.client.folders():
                self._folder_by_id.setdefault(int(folder["FolderID"]), str(folder.get("Name") or ""))
        return self._folder_by_id

    def _folder_id(self, name: str | None, what: str) -> int:
        folders = self.folders()
        if (name or "") not in folders:
            choices = ", ".join(sorted(n for n in folders if n)) or "none"
            raise ProviderError(f"smsconnector: {what}: folder {name!r} does not exist (folders: {choices}); "
                                "create it in the 82830 portal or remove `folder`")
        return folders[name or ""]

    def read(self, types: Collection[str], state: Mapping[str, Mapping[str, Any]]) -> LiveState:
        """Read phone lists (root folder and every folder) with their numbers; campaigns are not listable."""
        live: LiveState = {}
        if "phone_lists" in types:
            live["phone_lists"] = self._read_lists()
        return live

    def _read_lists(self) -> list[Resource]:
        """The lists of every folder, then their numbers (one request per list, read concurrently)."""
        names = self._folder_names()
        ids: dict[str, int] = {}  # phone list name -> ListID
        found: list[tuple[str, int, int]] = []  # name, ListID, FolderID
        for folder_id in sorted(names):
            for info in self.client.lists(folder_id):
                name, list_id = str(info.get("ListName") or ""), int(info["ListID"])
                if name in ids:
                    msg = (f"smsconnector: read phone lists: two lists are named {name!r} (ids "
                           f"{ids[name]} and {list_id}); rename one in the 82830 portal so the tool "
                           "can tell them apart")
                    raise ProviderError(msg)
                ids[name] = list_id
                found.append((name, list_id, folder_id))
        numbers = read_all(lambda entry: self._numbers(entry[1], entry[0]), found)
        resources = []
        for (name, list_id, folder_id), listed in zip(found, numbers, strict=True):
            raw: dict[str, Any] = {"name": name, "numbers": listed}
            if names[folder_id]:
                raw["folder"] = names[folder_id]
            attrs = normalize_attrs("phone_lists", raw, self.account.region, INFO.timezone)
            key = key_of("phone_lists", attrs)
            resources.append(Resource(self.account.name, "phone_lists", key, attrs, ident=str(list_id)))
        log.info("read: smsconnector phone_lists=%d", len(resources))
        return resources

    def _numbers(self, list_id: int, name: str) -> list[str]:
        numbers = set()
        for raw in self.client.numbers(list_id):
            try:
                numbers.add(number_from_api(raw, self.account.region))
            except InvalidNumber:
                log.warning("read: smsconnector phone list %r holds %s, which is not a valid number; ignored",
                            name, pii.shape(raw))
        return sorted(numbers)

    @staticmethod
    def _list_id(ctx: ApplyContext, name: str, what: str) -> int:
        """The ListID of phone list ``name`` (read, or created earlier in this run)."""
        list_id = ctx.id_of("phone_lists", name)
        if list_id is None or not list_id.isdigit():
            raise ProviderError(f"smsconnector: {what}: phone list {name!r} does not exist; declare it in a "
                                "resource file of this account so it is created first")
        return int(list_id)

    # -- applying ---------------------------------------------------------------------------------
    def _add_numbers(self, list_id: int, name: str, numbers: Iterable[str]) -> None:
        numbers = [number_to_api(n) for n in numbers]
        batches = math.ceil(len(numbers) / ADD_ENTRIES_LIMIT)
        for index in range(batches):
            batch = numbers[index * ADD_ENTRIES_LIMIT:(index + 1) * ADD_ENTRIES_LIMIT]
            what = f"add {len(batch)} numbers to phone list {name!r} (batch {index + 1}/{batches})"
            stored = self.client.add_entries(list_id, batch, what)
            if stored != len(batch):
                raise ProviderError(f"smsconnector: {what}: only {stored} were stored; the others were "
                                    "rejected as invalid numbers")

    @handles("phone_lists", Action.CREATE)
    def _phone_lists_create(self, change: Change, ctx: ApplyContext) -> Outcome:
        after = dict(change.after or {})
        name = str(after["name"])
        folder = self._folder_id(after.get("folder"), f"create phone list {name!r}")
        list_id = self.client.create_list(name, folder)
        self._verify_list(change, name, list_id)
        self._add_numbers(list_id, name, after.get("numbers") or ())
        return Outcome(str(list_id), after)

    def _verify_list(self, change: Change, name: str, list_id: int) -> None:
        """The id CreateList returned must be a list of this name (read back with GetList) before
        numbers are added to it: another list's id would fill that list."""
        found = str(self.client.list_info(list_id).get("ListName") or "")
        if found != name:
            msg = (
                f"smsconnector: create {change.address}: the API answered id {list_id}, but reading it back "
                f"gives phone list {found!r}; the id is not used (the list is looked up by its name instead)"
            )
            raise ProviderError(msg, maybe_committed=True)

    @handles("phone_lists", Action.UPDATE)
    def _phone_lists_update(self, change: Change, ctx: ApplyContext) -> Outcome:
        other = [f for f in change.fields if f != "numbers"]
        if other or change.ident is None:
            asked = ", ".join(other) or "a list without id"
            raise ProviderError(f"smsconnector: update {change.address}: only numbers can be added to a "
                                f"phone list (asked to change {asked})")
        before = set(changed_value(change.before, "numbers") or ())
        added = sorted(set(changed_value(change.after, "numbers") or ()) - before)
        self._add_numbers(int(change.ident), change.key, added)
        return Outcome(change.ident, change.wanted)

    def _create_campaign(self, change: Change, ctx: ApplyContext) -> int:
        after = change.after or {}
        what = f"create campaign {change.key!r}"
        fields: dict[str, Any] = {
            "Title": str(after.get("name") or change.key), "Text": after.get("text"),
            "Folder": self._folder_id(after.get("folder"), what),
            "FromNumber": str(after.get("sender") or ""),
            "LaunchAt": launch_at_to_api(str(after["send_at"])),
        }
        if after.get("brand"):
            fields["Brand"] = str(after["brand"])
        lists = [self._list_id(ctx, name, what) for name in get_path(after, "to.phone_lists") or ()]
        campaign = self.client.create_campaign(fields, what)
        # Journal the id now: a run killed before linking and launching leaves a known, unlaunched campaign.
        unlaunched = {**after, "to": {**(after.get("to") or {}), "phone_lists": []}, "status": "stopped"}
        ctx.checkpoint(change, Outcome(str(campaign), unlaunched))
        linked: list[str] = []
        try:
            for name, list_id in zip(get_path(after, "to.phone_lists") or (), lists, strict=True):
                self.client.link(campaign, list_id,
                                 f"link campaign {change.key!r} (id {campaign}) to {name!r}")
                linked.append(name)
            if after.get("status", "scheduled") == "scheduled":
                self.client.launch(campaign, f"launch campaign {change.key!r} (id {campaign})")
        except ProviderError as exc:
            msg = (f"{exc}; campaign {change.key!r} was created as id {campaign} but is not launched; "
                   "its id is recorded, so the next apply links and launches it")
            # What exists now, so the applier records the id and the next plan finishes the job. The
            # planner compares declared fields only (status often is not): a campaign still to be
            # launched is recorded without lists, so the next plan relinks them (idempotent) and launches.
            launch = after.get("status", "scheduled") == "scheduled"
            kept = [] if launch else sorted(linked)
            done = {**after, "to": {**(after.get("to") or {}), "phone_lists": kept}, "status": "stopped"}
            ctx.checkpoint(change, Outcome(str(campaign), done))
            raise ProviderError(msg) from exc
        return campaign

    @handles("campaigns", Action.CREATE)
    def _campaigns_create(self, change: Change, ctx: ApplyContext) -> Outcome:
        return Outcome(str(self._create_campaign(change, ctx)), dict(change.after or {}))

    @handles("campaigns", Action.UPDATE)
    def _campaigns_update(self, change: Change, ctx: ApplyContext) -> Outcome:
        campaign, label = int(change.ident or 0), f"campaign {change.key!r} (id {change.ident})"
        desired: dict[str, Any] = dict(change.desired or {})
        status = changed_value(change.after, "status") if "status" in change.fields else None
        other = [f for f in change.fields if f not in ("status", "to.phone_lists", "to")]
        if other:
            raise ProviderError(f"smsconnector: update {label}: {', '.join(other)} cannot change in place "
                                "(the plan should replace the campaign)")
        if status == "stopped":
            self.client.stop(campaign, f"stop {label}")
        if "to.phone_lists" in change.fields or "to" in change.fields:
            old = set(changed_value(change.before, "to.phone_lists") or ())
            new = set(changed_value(change.after, "to.phone_lists") or ())
            for name in sorted(new - old):
                list_id = self._list_id(ctx, name, f"link {label}")
                self.client.link(campaign, list_id, f"link {label} to {name!r}")
            for name in sorted(old - new):
                list_id = self._list_id(ctx, name, f"unlink {label}")
                self.client.unlink(campaign, list_id, f"unlink {label} from {name!r}")
            if status is None and new - old and desired.get("status", "scheduled") == "scheduled":
                status = "scheduled"  # (re)launch: linking may finish a create that stopped before launch
        if status == "scheduled":
            self.client.launch(campaign, f"launch {label}")
        return Outcome(change.ident, desired or dict(change.after or {}))

    def _stop_old(self, change: Change) -> str:
        """Stop the campaign ``change.ident``; a warning text when it was unknown or already sent."""
        label = f"campaign {change.key!r} (id {change.ident})"
        try:
            self.client.stop(int(change.ident or 0), f"stop {label}")
        except NotFoundStatus:
            return f"{label} no longer exists in SMSConnector; nothing to stop"
        except ApiStatusError as exc:
            if exc.status != FAILED:
                raise
            return f"{label} was already sent; nothing to stop"
        return ""

    @handles("campaigns", Action.REPLACE)
    def _campaigns_replace(self, change: Change, ctx: ApplyContext) -> Outcome:
        note = self._stop_old(change)
        new = self._create_campaign(change, ctx)
        warning = note or f"the old campaign {change.ident} was stopped; SMSConnector cannot delete it"
        return Outcome(str(new), dict(change.after or {}), warnings=(warning,))

    @handles("campaigns", Action.DELETE)
    def _campaigns_delete(self, change: Change, ctx: ApplyContext) -> Outcome:
        note = self._stop_old(change)
        warning = note or (f"campaign {change.ident} was stopped; SMSConnector cannot delete it, "
                           "it stays in the portal")
        return Outcome(None, None, warnings=(warning,))

    # -- plan time --------------------------------------------------------------------------------
    @classmethod
    def refine(cls, change: Change, live: Resource | None, now: datetime) -> Change | Problem:
        """Campaigns: a sent campaign cannot change; a launch time in the past cannot be launched."""
        return planning.refine(change, live, now)

    def check(
        self, desired: Mapping[str, Mapping[str, Resource]], live: LiveState, state: StateView | None = None
    ) -> list[Problem]:
        """Senders, brands and folders the company lacks; a state file that looks lost.

        Opted-out recipients are checked by the generic audience check, fed by :meth:`opt_outs`."""
        campaigns = dict(desired.get("campaigns") or {})
        lists = dict(desired.get("phone_lists") or {})
        problems = planning.check_company(self.client, campaigns)
        problems += planning.check_folders([*campaigns.values(), *lists.values()], self.folders)
        recorded = frozenset(state.get("campaigns") or ()) if state is not None else None
        problems += planning.check_lost_state(campaigns, live, recorded)
        return problems

    def opt_outs(self, live: LiveState) -> dict[str, str]:
        """Numbers whose last STOP is later than their last START -> ``texted STOP on <date>``."""
        return {
            number: f"texted STOP{f' on {when[:10]}' if when else ''} and not START since"
            for number, when in self.opted_out().items()
        }

    def opted_out(self) -> dict[str, str]:
        """Numbers currently opted out (E.164) -> date of their last STOP ('' when undated).

        The latest event wins. Bare strings (no dates) are accepted: then a START anywhere wins,
        because a START only means something after a STOP.
        """
        return planning.opted_out(self.client, self.account.region)


PROVIDER = SmsConnectorProvider
