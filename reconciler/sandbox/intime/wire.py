"""The wire format of the emulated InTime API 1.0 (docs/providers/intime.md).

ISO-8859-1 XML documents in and out, plain-text answers, the ``N:ERRORM`` answer code raised as
:class:`Fail`, the element names each function accepts, date formats and the field checks
(mobile numbers, e-mail addresses, sender titles) shared by the request handlers.
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from collections.abc import Iterable
from datetime import datetime
from zoneinfo import ZoneInfo

import defusedxml.ElementTree as SafeET
from defusedxml import DefusedXmlException
from werkzeug.wrappers import Response

DECLARATION = '<?xml version="1.0" encoding="iso-8859-1"?>\n'
TZ = ZoneInfo("Europe/Stockholm")
INPUT_DATE = "%Y-%m-%dT%H:%M:%S"  # section 4.1 / 7.2 input format
OUTPUT_DATE = "%Y-%m-%d %H:%M"  # section 7.1 listing format

REMINDER_FIELDS = frozenset(
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
MESSAGE_FIELDS = frozenset(
    {
        "flash",
        "multisms",
        "senddate",
        "sendertitle",
        "body",
        "statusurl",
        "checknix",
        "anonymize",
        "recipients",
        "groups",
    }
)
CONTACT_FIELDS = frozenset({"type", "firstname", "lastname", "email", "mobile", "extrafield", "groups"})
_MOBILE = re.compile(r"^(\+\d{8,15}|0\d{6,12})$")  # section 5.1 ASSUMPTION
EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
_ALNUM_TITLE = re.compile(r"^[A-Za-z0-9 .+-]{1,11}$")  # section 4.1 sendertitle
_NUMERIC_TITLE = re.compile(r"^\+?[0-9]{1,15}$")


class Fail(Exception):
    """An InTime error code answer; the request's writes are rolled back."""

    def __init__(self, code: str) -> None:
        super().__init__(code)
        self.code = code


def clean_mobile(raw: str) -> str:
    return re.sub(r"[\s-]", "", raw or "")


def valid_mobile(raw: str) -> bool:
    return bool(_MOBILE.match(clean_mobile(raw)))


def norm_mobile(raw: str) -> str:
    """Section 9.5: strip spaces/dashes; ``00`` -> ``+``; a leading single ``0`` -> ``+46``."""
    text = clean_mobile(raw)
    if text.startswith("00"):
        return "+" + text[2:]
    if text.startswith("0"):
        return "+46" + text[1:]
    return text


def valid_sender_title(title: str) -> bool:
    return bool(_NUMERIC_TITLE.match(title) or _ALNUM_TITLE.match(title))


def plain_response(text: str, status: int = 200) -> Response:
    return Response(text.encode("iso-8859-1"), status=status, content_type="text/plain; charset=iso-8859-1")


def xml_response(root: ET.Element) -> Response:
    text = DECLARATION + ET.tostring(root, encoding="unicode", short_empty_elements=False)
    return Response(
        text.encode("iso-8859-1", "xmlcharrefreplace"), content_type="text/xml; charset=iso-8859-1"
    )


def parse_document(body: bytes) -> ET.Element:
    """Parse a request body; a missing declaration means ISO-8859-1 (section 3, lenient)."""
    if not body.lstrip().startswith(b"<?xml"):
        body = DECLARATION.encode("ascii") + body.lstrip()
    try:
        root: ET.Element = SafeET.fromstring(body)
    except (ET.ParseError, DefusedXmlException, ValueError):
        raise Fail("1:ERROR1") from None
    return root


def child_fields(element: ET.Element, allowed: Iterable[str]) -> dict[str, ET.Element]:
    """Children by name; an unknown or repeated element name fails XML validation (1:ERROR1)."""
    out: dict[str, ET.Element] = {}
    allowed = frozenset(allowed)
    for child in element:
        if child.tag not in allowed or child.tag in out:
            raise Fail("1:ERROR1")
        out[child.tag] = child
    return out


def child_items(element: ET.Element | None, tag: str) -> list[ET.Element]:
    """The children of a list element, which must all be ``tag``."""
    if element is None:
        return []
    children = list(element)
    if any(child.tag != tag for child in children):
        raise Fail("1:ERROR1")
    return children


def single_list(root: ET.Element, root_tag: str, list_tag: str, item_tag: str) -> list[ET.Element]:
    """``<root><list><item/>...</list></root>`` with at least one item."""
    if root.tag != root_tag:
        raise Fail("1:ERROR1")
    items = child_items(child_fields(root, {list_tag}).get(list_tag), item_tag)
    if not items:
        raise Fail("1:ERROR1")
    return items


def element_text(element: ET.Element | None) -> str | None:
    return None if element is None else (element.text or "").strip()


def element_flag(element: ET.Element | None) -> bool:
    """A ``0``/``1`` element (``true``/``false`` accepted too); absent or empty means 0."""
    text = element_text(element)
    return bool_attr(text) if text else False


def bool_attr(value: str | None) -> bool:
    """``true/false/1/0`` case-insensitively (section 5.4 ASSUMPTION); absent means false."""
    if value is None:
        return False
    lowered = value.strip().lower()
    if lowered in ("true", "1"):
        return True
    if lowered in ("false", "0"):
        return False
    raise Fail("1:ERROR1")


def parse_int(value: str | None, code: str = "1:ERROR1") -> int:
    try:
        return int((value or "").strip())
    except ValueError:
        raise Fail(code) from None


def parse_date(value: str | None) -> datetime:
    try:
        return datetime.strptime((value or "").strip(), INPUT_DATE)
    except ValueError:
        raise Fail("1:ERROR1") from None
