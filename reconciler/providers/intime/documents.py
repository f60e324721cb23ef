"""The XML documents of the InTime API: the records the client returns and takes, and their encoding.

Request bodies are ISO-8859-1 XML with the declaration (section 3); :func:`encode_document`
refuses other characters before anything is sent. Listings are parsed into frozen records
(:class:`Group`, :class:`NixEntry`, :class:`Reminder`); :class:`ContactIn` is the input of
``contacts/add`` and :class:`EditResult` the per-item answer of ``reminder/edit``.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from dataclasses import dataclass, field

from reconciler.providers.intime.errors import IntimeError

DECLARATION = '<?xml version="1.0" encoding="iso-8859-1"?>\n'
CONTENT_TYPE = "text/xml; charset=iso-8859-1"


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


def reminder_from_xml(element: ET.Element) -> Reminder:
    """One ``reminderappointment`` element of ``reminder/list``; raises ValueError for a bad id."""

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
