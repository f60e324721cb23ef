"""HTTP client of the InTime Messenger XML API 1.0 (../shared/providers/intime.md).

Every call carries ``user`` and ``hash`` in the query string; the hash is a secret, registered
with :mod:`reconciler.secrets` and never part of a message or log line (URLs pass through
``redact_url``, and urllib3's request log is filtered). Write calls post an ISO-8859-1 XML
document with its declaration and get back plain-text ids (``1234,1235``, input order) or an
``N:ERRORM`` code, both with HTTP 200; listing calls are GETs answered with XML, where the code
``2:ERROR1`` means "no data" and maps to an empty list.
"""

from __future__ import annotations

import logging
import re
import xml.etree.ElementTree as ET
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import defusedxml.ElementTree as SafeET
import requests
from defusedxml import DefusedXmlException

from reconciler.errors import NotFound, ProviderError, Unauthorized
from reconciler.http import DEFAULT_TIMEOUT, HttpClient, RetryPolicy
from reconciler.secrets import redact, redact_url, register

log = logging.getLogger(__name__)

DECLARATION = '<?xml version="1.0" encoding="iso-8859-1"?>\n'
CONTENT_TYPE = "text/xml; charset=iso-8859-1"
INACTIVE = "reminder is inactive (InTime cannot edit inactive reminders)"
AUTH_ADVICE = (
    "check the account's credentials `user` and `hash` (for example ${INTIME_USER} and ${INTIME_HASH}) "
    "and that the InTime user is verified"
)
_CODE = re.compile(r"^\d+:ERROR\d+$")

COMMON_ERRORS = {
    "0:ERROR1": "user and/or hash missing",
    "0:ERROR2": "the XML body was empty",
    "0:ERROR3": "user not verified (wrong user or hash, or an unverified account)",
    "1:ERROR1": "XML validation failed (a required element is missing or a value breaks InTime's rules)",
}
# What each function-specific code means (section 4-7 of the reference), by endpoint.
ENDPOINT_ERRORS: dict[str, dict[str, str]] = {
    "message/create": {
        "1:ERROR2": "the send date is in the past",
        "1:ERROR3": "recipients incorrect (invalid number or unknown group)",
        "2:ERROR0": "loading the block list failed",
        "2:ERROR1": "unable to send",
        "2:ERROR2": "no recipient to send to (empty groups, or every member is blocked)",
    },
    "message/delete": {
        "1:ERROR1": "InTime could not open the XML message",
        "2:ERROR1": "InTime could not read the messageid",
        "2:ERROR2": "unable to remove the message (unknown id, already sent or already removed)",
    },
    "contacts/add": {
        "2:ERROR1": "unable to create the contacts (for example an unknown group id)",
        "3:ERROR1": "invalid e-mail address",
        "3:ERROR2": "invalid mobile number",
    },
    "contacts/addgroup": {"2:ERROR1": "unable to create the groups"},
    "contacts/deletigroup": {"2:ERROR1": "could not remove any of the groups (unknown ids)"},
    "nix/addnix": {"2:ERROR1": "could not create the block-list entries (for example an invalid number)"},
    "nix/deletenix": {"2:ERROR1": "could not delete any entry (none of the numbers is blocked)"},
    "reminder/add": {"2:ERROR1": "could not add the reminders (for example an invalid attendant mobile)"},
    "reminder/edit": {"2:ERROR1": "could not edit the reminders (unknown appointment ids)"},
}
LISTINGS = ("contacts/listgroups", "nix/list", "reminder/list")
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


class IntimeError(ProviderError):
    """An InTime answer code (``code``) or an unusable answer."""

    def __init__(self, message: str, code: str = "") -> None:
        super().__init__(message)
        self.code = code


class IntimeUnauthorized(Unauthorized, IntimeError):
    """``0:ERROR1`` / ``0:ERROR3``: the user and hash were not accepted."""


class NothingRemoved(NotFound, IntimeError):
    """A delete call removed nothing (``2:ERROR1`` / ``2:ERROR2``): the items are unknown or gone."""


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


@dataclass(frozen=True)
class Group:
    id: int
    name: str


@dataclass(frozen=True)
class NixEntry:
    mobile: str  # as InTime stores it (national or international form)
    first_name: str = ""
    last_name: str = ""


@dataclass(frozen=True)
class Reminder:
    """One ``reminderappointment`` of ``reminder/list``; dates as listed (``yyyy-MM-dd HH:mm``)."""

    id: int
    appointment: str
    active: bool
    organizer: dict[str, str] = field(default_factory=dict)  # title, first_name, last_name
    attendant: dict[str, str] = field(default_factory=dict)  # first_name, last_name, mobile
    message_date: str = ""
    message_text: str = ""
    user_id: str = ""
    user_identity: str = ""
    user_alias: str = ""


@dataclass(frozen=True)
class ContactIn:
    """One contact for ``contacts/add``: type 1 SMS, 2 e-mail, 3 both."""

    type: int
    mobile: str = ""
    email: str = ""
    first_name: str = ""
    last_name: str = ""
    extrafield: str = ""
    group_ids: tuple[int, ...] = ()


@dataclass(frozen=True)
class EditResult:
    """The answer for one edited reminder: ``ok`` False when InTime returned its negative id."""

    id: int
    ok: bool
    error: str = ""


def encode_document(root: ET.Element, what: str) -> bytes:
    """The request body: declaration + XML in ISO-8859-1; other characters raise before sending."""
    text = DECLARATION + ET.tostring(root, encoding="unicode")
    try:
        return text.encode("iso-8859-1")
    except UnicodeEncodeError as exc:
        char = exc.object[exc.start]
        msg = (
            f"intime: {what}: {char!r} (U+{ord(char):04X}) cannot be sent: InTime accepts only ISO-8859-1 "
            "(Latin-1) text; remove or replace the character"
        )
        raise IntimeError(msg) from None


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
        timeout: tuple[float, float] = DEFAULT_TIMEOUT,
        retry: RetryPolicy | None = None,
    ) -> None:
        register(secret)
        super().__init__(base_url, timeout=timeout, retry=retry, rate_limit=rate_limit)
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
            raise IntimeError(f"intime: {what}: unexpected HTTP {response.status_code} at {where}")
        text = response.content.decode("iso-8859-1").strip()
        if _CODE.match(text):
            if endpoint in LISTINGS and text == "2:ERROR1":
                log.debug("intime: %s: no data", what)
                return None
            raise self._error(endpoint, text, what)
        log.debug("intime: %s: %d bytes", what, len(response.content))
        return response

    @staticmethod
    def _error(endpoint: str, code: str, what: str) -> IntimeError:
        meaning = (
            ENDPOINT_ERRORS.get(endpoint, {}).get(code)
            or COMMON_ERRORS.get(code)
            or "undocumented error code"
        )
        msg = f"intime: {what}: {code} ({meaning})"
        if code in ("0:ERROR1", "0:ERROR3"):
            return IntimeUnauthorized(f"{msg}; {AUTH_ADVICE}", code)
        if (endpoint, code) in (
            ("contacts/deletigroup", "2:ERROR1"),
            ("nix/deletenix", "2:ERROR1"),
            ("message/delete", "2:ERROR2"),
        ):
            return NothingRemoved(msg, code)
        return IntimeError(msg, code)

    def _write(self, endpoint: str, root: ET.Element, what: str, *, idempotent: bool) -> list[int]:
        response = self._call(endpoint, what, root, idempotent=idempotent)
        assert response is not None  # only listings answer "no data"
        text = response.content.decode("iso-8859-1").strip()
        try:
            return [int(part) for part in text.split(",")]
        except ValueError:
            raise IntimeError(f"intime: {what}: unexpected answer {text[:80]!r} (expected ids)") from None

    @staticmethod
    def _expect(ids: list[int], count: int, what: str) -> list[int]:
        if len(ids) != count:
            raise IntimeError(
                f"intime: {what}: InTime returned {len(ids)} id(s) for {count} item(s); "
                "the items cannot be matched to their ids"
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
            return [_reminder(el) for el in root.iter("reminderappointment")]
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
        ids = self._expect(self._write("reminder/edit", root, what, idempotent=True), len(items), what)
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
        return self._expect(self._write("message/delete", root, what, idempotent=True), 1, what)[0]


def _reminder(element: ET.Element) -> Reminder:
    def text(path: str) -> str:
        return (element.findtext(path) or "").strip()

    return Reminder(
        id=int(text("appointmentId")),
        appointment=text("appointmentDate"),
        active=text("active").lower() in ("true", "1"),
        organizer={
            "title": text("organizer/title"),
            "first_name": text("organizer/firstname"),
            "last_name": text("organizer/lastname"),
        },
        attendant={
            "first_name": text("attendant/firstname"),
            "last_name": text("attendant/lastname"),
            "mobile": text("attendant/mobile"),
        },
        message_date=text("messageDate"),
        message_text=text("messageText"),
        user_id=text("userId"),
        user_identity=text("userIdentity"),
        user_alias=text("userAlias"),
    )
