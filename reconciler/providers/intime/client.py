"""HTTP client of the InTime Messenger XML API 1.0 (docs/providers/intime.md).

Every call carries ``user`` and ``hash`` in the query string; the hash is a secret, registered
with :mod:`reconciler.secrets` and never part of a message or log line (URLs pass through
``redact_url``, and urllib3's request log is filtered). Write calls post an ISO-8859-1 XML
document with its declaration and get back plain-text ids (``1234,1235``, input order) or an
``N:ERRORM`` code, both with HTTP 200; listing calls are GETs answered with XML, where the code
``2:ERROR1`` means "no data" and maps to an empty list.

The answer codes and exceptions live in :mod:`.errors`, the XML records and the request
encoding in :mod:`.documents`.
"""

from __future__ import annotations

import logging
import re
import xml.etree.ElementTree as ET
from collections.abc import Mapping, Sequence
from typing import Any

import defusedxml.ElementTree as SafeET
import requests
from defusedxml import DefusedXmlException

from reconciler.errors import NotFound
from reconciler.http import HttpClient, Limits, RetryPolicy, excerpt
from reconciler.providers.intime.documents import (
    CONTENT_TYPE,
    ContactIn,
    EditResult,
    Group,
    NixEntry,
    Reminder,
    encode_document,
    reminder_from_xml,
)
from reconciler.providers.intime.errors import (
    IntimeError,
    IntimeUnauthorized,
    NothingRemoved,
    answer_error,
)
from reconciler.secrets import redact, redact_url, register

__all__ = [
    "INACTIVE",
    "ContactIn",
    "EditResult",
    "Group",
    "IntimeClient",
    "IntimeError",
    "IntimeUnauthorized",
    "NixEntry",
    "NothingRemoved",
    "Reminder",
]

log = logging.getLogger(__name__)

INACTIVE = "reminder is inactive (InTime cannot edit inactive reminders)"
_CODE = re.compile(r"^\d+:ERROR\d+$")
_IDS = re.compile(r"^-?\d{1,18}(,-?\d{1,18})*$")
UNCERTAIN = "; the call may have been applied, so the item is uncertain until the next plan"
# Each listing and the root element its answer must have (sections 5.2, 6.1, 7.1).
LISTINGS = {
    "contacts/listgroups": "groups",
    "nix/list": "nixentries",
    "reminder/list": "reminderappointments",
}
REMINDER_ELEMENTS = frozenset(
    {
        "appointmentdate",
        "organizer_firstname",
        "organizer_lastname",
        "organizer_title",
        "attendant_firstname",
        "attendant_lastname",
        "attendant_mobile",
    }
)


class _RedactFilter(logging.Filter):
    """Hide the hash in urllib3's request log lines, which print the full request path."""

    _HASH = re.compile(r"(?i)([?&]hash=)[^&\s\"]*")

    def filter(self, record: logging.LogRecord) -> bool:
        text = self._HASH.sub(r"\1***", redact(record.getMessage()))
        record.msg, record.args = text, None
        return True


for _name in ("urllib3.connectionpool", "urllib3.connection", "urllib3.util.retry"):
    _logger = logging.getLogger(_name)
    if not any(isinstance(f, _RedactFilter) for f in _logger.filters):
        _logger.addFilter(_RedactFilter())


class IntimeClient(HttpClient):
    """One InTime account. Methods raise :class:`IntimeError` (or a subclass) naming ``what``."""

    provider = "intime"

    def __init__(
        self,
        base_url: str,
        user: str,
        secret: str,
        *,
        rate_limit: int | None = None,
        limits: Limits | None = None,
        retry: RetryPolicy | None = None,
    ) -> None:
        register(secret)
        super().__init__(base_url, limits=limits, retry=retry, rate_limit=rate_limit)
        self._auth = {"user": user, "hash": secret}

    def is_throttled(self, response: requests.Response) -> bool:
        """429, or the emulator's (assumed) 503 "Too many requests"; InTime documents no throttle."""
        if response.status_code == 429:
            return True
        return response.status_code == 503 and "too many requests" in response.text.lower()

    # -- transport -------------------------------------------------------------------------------
    def _call(
        self,
        endpoint: str,
        what: str,
        root: ET.Element | None = None,
        *,
        idempotent: bool,
        params: Mapping[str, str] | None = None,
    ) -> requests.Response | None:
        """Send one call; return the response, or None for a listing's "no data" (``2:ERROR1``)."""
        query = {**self._auth, **(params or {})}
        kwargs: dict[str, Any] = {"params": query}
        method = "GET"
        if root is not None:
            method = "POST"
            kwargs["data"] = encode_document(root, what)
            kwargs["headers"] = {"Content-Type": CONTENT_TYPE}
        response = self.request(method, endpoint + ".ashx", idempotent=idempotent, what=what, **kwargs)
        where = f"{method} {redact_url(response.url)}"
        if response.status_code == 404:
            raise NotFound(
                f"intime: {what}: HTTP 404 at {where} (check the account url; it should end in /api/1.0)"
            )
        if response.status_code != 200:
            # A 4xx refused the call; any other answer to a create may hide a committed change.
            refused = 400 <= response.status_code < 500
            raise IntimeError(
                f"intime: {what}: unexpected HTTP {response.status_code} at {where}"
                + ("" if refused or idempotent else UNCERTAIN),
                maybe_committed=not (refused or idempotent),
            )
        text = response.content.decode("iso-8859-1").strip()
        if _CODE.match(text):
            if endpoint in LISTINGS and text == "2:ERROR1":
                log.debug("intime: %s: no data", what)
                return None
            raise answer_error(endpoint, text, what)
        log.debug("intime: %s: %d bytes", what, len(response.content))
        return response

    def _write(self, endpoint: str, root: ET.Element, what: str, *, idempotent: bool) -> list[int]:
        response = self._call(endpoint, what, root, idempotent=idempotent)
        assert response is not None  # only listings answer "no data"
        text = response.content.decode("iso-8859-1").strip()
        if _IDS.match(text):
            return [int(part) for part in text.split(",")]
        # Not a refusal (codes were handled above): a create may have been committed all the same.
        raise IntimeError(
            f"intime: {what}: unreadable answer {excerpt(text, 80)!r} (expected ids)"
            + ("" if idempotent else UNCERTAIN),
            maybe_committed=not idempotent,
        )

    @staticmethod
    def _expect(ids: list[int], count: int, what: str, *, created: bool = True) -> list[int]:
        if len(ids) != count:
            raise IntimeError(
                f"intime: {what}: InTime returned {len(ids)} id(s) for {count} item(s); "
                "the items cannot be matched to their ids" + (UNCERTAIN if created else ""),
                maybe_committed=created,
            )
        return ids

    def _listing(
        self, endpoint: str, what: str, params: Mapping[str, str] | None = None
    ) -> ET.Element | None:
        response = self._call(endpoint, what, idempotent=True, params=params)
        if response is None:
            return None
        try:
            root: ET.Element = SafeET.fromstring(response.content)
        except (ET.ParseError, DefusedXmlException, ValueError) as exc:
            raise IntimeError(f"intime: {what}: the answer is not readable XML ({exc})") from None
        expected = LISTINGS[endpoint]
        if root.tag != expected:
            shown = excerpt(str(root.tag), 40)
            raise IntimeError(f"intime: {what}: the answer is <{shown}>, expected a <{expected}> document")
        return root

    # -- groups --------------------------------------------------------------------------------
    def list_groups(self, what: str = "list groups") -> list[Group]:
        root = self._listing("contacts/listgroups", what)
        if root is None:
            return []
        try:
            return [Group(int(el.get("groupid", "")), (el.text or "").strip()) for el in root.iter("group")]
        except ValueError:
            raise IntimeError(f"intime: {what}: a group without a numeric groupid in the answer") from None

    def add_groups(self, names: Sequence[str], what: str = "create groups") -> list[int]:
        """Create groups; their ids in input order."""
        root = ET.Element("addgroups")
        groups = ET.SubElement(root, "groups")
        for name in names:
            ET.SubElement(groups, "group", groupname=name)
        return self._expect(self._write("contacts/addgroup", root, what, idempotent=False), len(names), what)

    def delete_groups(
        self, ids: Sequence[int], *, delete_contacts: bool = False, what: str = "delete groups"
    ) -> list[int]:
        """Remove groups; the ids InTime removed (unknown ids are skipped). NothingRemoved if none."""
        root = ET.Element("deletigroups")  # sic: the reference's spelling
        groups = ET.SubElement(root, "groups")
        for gid in ids:
            ET.SubElement(
                groups, "group", groupid=str(gid), deletecontacts="true" if delete_contacts else "false"
            )
        removed = self._write("contacts/deletigroup", root, what, idempotent=True)
        if not set(removed) <= set(ids):
            raise IntimeError(f"intime: {what}: InTime reported removing ids it was not asked to remove")
        return removed

    # -- contacts ------------------------------------------------------------------------------
    def add_contacts(self, contacts: Sequence[ContactIn], what: str = "create contacts") -> list[int]:
        """Create contacts (with their group memberships) in one call; ContactIds in input order."""
        root = ET.Element("contacts")
        for contact in contacts:
            item = ET.SubElement(root, "contact")
            ET.SubElement(item, "type").text = str(contact.type)
            for name, value in (
                ("firstname", contact.first_name),
                ("lastname", contact.last_name),
                ("email", contact.email),
                ("mobile", contact.mobile),
                ("extrafield", contact.extrafield),
            ):
                if value:
                    ET.SubElement(item, name).text = value
            if contact.group_ids:
                groups = ET.SubElement(item, "groups")
                for gid in contact.group_ids:
                    ET.SubElement(groups, "group", groupid=str(gid))
        return self._expect(self._write("contacts/add", root, what, idempotent=False), len(contacts), what)

    # -- block list ----------------------------------------------------------------------------
    def list_nix(self, what: str = "list blocklist") -> list[NixEntry]:
        root = self._listing("nix/list", what)
        if root is None:
            return []
        return [
            NixEntry(
                (el.findtext("mobile") or "").strip(),
                (el.findtext("firstname") or "").strip(),
                (el.findtext("lastname") or "").strip(),
            )
            for el in root.iter("nixentry")
        ]

    def _nix_document(self, root_tag: str, mobiles: Sequence[str]) -> ET.Element:
        root = ET.Element(root_tag)
        entries = ET.SubElement(root, "nixentries")
        for mobile in mobiles:
            ET.SubElement(entries, "nixentry", mobile=mobile)
        return root

    def add_nix(self, mobiles: Sequence[str], what: str = "add to blocklist") -> list[int]:
        """Block numbers; NixEntryIds in input order (an already blocked number keeps its id)."""
        root = self._nix_document("addnixentries", mobiles)
        return self._expect(self._write("nix/addnix", root, what, idempotent=False), len(mobiles), what)

    def delete_nix(self, mobiles: Sequence[str], what: str = "delete from blocklist") -> list[int]:
        """Unblock numbers (addressed by number); the removed NixEntryIds. NothingRemoved if none."""
        return self._write(
            "nix/deletenix", self._nix_document("deletenixentries", mobiles), what, idempotent=True
        )

    # -- reminders -----------------------------------------------------------------------------
    def list_reminders(self, reminder_id: int | None = None, what: str = "list reminders") -> list[Reminder]:
        params = None if reminder_id is None else {"id": str(reminder_id)}
        root = self._listing("reminder/list", what, params)
        if root is None:
            return []
        try:
            return [reminder_from_xml(el) for el in root.iter("reminderappointment")]
        except ValueError:
            raise IntimeError(
                f"intime: {what}: a reminder without a numeric appointmentId in the answer"
            ) from None

    def _reminder_document(self, items: Sequence[Mapping[str, str]], extra: frozenset[str]) -> ET.Element:
        root = ET.Element("reminderappointments")
        for values in items:
            unknown = set(values) - REMINDER_ELEMENTS - extra
            if unknown:
                raise ValueError(f"intime reminder elements: unknown {sorted(unknown)}")
            item = ET.SubElement(root, "reminderappointment")
            for name, value in values.items():
                ET.SubElement(item, name).text = value
        return root

    def add_reminders(self, items: Sequence[Mapping[str, str]], what: str = "create reminders") -> list[int]:
        """Add reminders given as input elements (``appointmentdate`` ...); AppointmentIds in order."""
        root = self._reminder_document(items, frozenset())
        return self._expect(self._write("reminder/add", root, what, idempotent=False), len(items), what)

    def edit_reminders(
        self, items: Sequence[Mapping[str, str]], what: str = "edit reminders"
    ) -> list[EditResult]:
        """Edit reminders; each mapping holds ``appointmentid`` and only the elements to change.

        A reminder InTime could not change (inactive or unknown) comes back as a failed
        :class:`EditResult` saying so, not as an exception.
        """
        root = self._reminder_document(items, frozenset({"appointmentid", "active"}))
        ids = self._expect(
            self._write("reminder/edit", root, what, idempotent=True), len(items), what, created=False
        )
        results = []
        for asked, got in zip((int(item["appointmentid"]) for item in items), ids, strict=True):
            if abs(got) != asked:
                raise IntimeError(f"intime: {what}: InTime answered id {got} for reminder {asked}")
            results.append(EditResult(asked, got > 0, "" if got > 0 else INACTIVE))
        return results

    # -- messages ------------------------------------------------------------------------------
    def create_message(
        self,
        *,
        sender: str,
        body: str,
        send_date: str | None,
        recipients: Sequence[str] = (),
        group_ids: Sequence[int] = (),
        flash: bool = False,
        multisms: bool = False,
        checknix: bool = False,
        what: str = "create message",
    ) -> int:
        """Create a message; ``send_date`` is Swedish local ``YYYY-MM-DDTHH:MM:SS`` (None: send now)."""
        root = ET.Element("message")
        ET.SubElement(root, "flash").text = "1" if flash else "0"
        ET.SubElement(root, "multisms").text = "1" if multisms else "0"
        if send_date is not None:
            ET.SubElement(root, "senddate").text = send_date
        ET.SubElement(root, "sendertitle").text = sender
        ET.SubElement(root, "body").text = body
        ET.SubElement(root, "checknix").text = "1" if checknix else "0"
        if recipients:
            element = ET.SubElement(root, "recipients")
            for number in recipients:
                ET.SubElement(element, "recipient").text = number
        if group_ids:
            element = ET.SubElement(root, "groups")
            for gid in group_ids:
                ET.SubElement(element, "group", groupid=str(gid))
        ids = self._write("message/create", root, what, idempotent=False)
        return self._expect(ids, 1, what)[0]

    def delete_message(self, message_id: int, what: str = "delete message") -> int:
        """Remove a scheduled message. NothingRemoved when unknown, already sent or removed."""
        root = ET.Element("message")
        ET.SubElement(root, "messageid").text = str(message_id)
        return self._expect(
            self._write("message/delete", root, what, idempotent=True), 1, what, created=False
        )[0]
