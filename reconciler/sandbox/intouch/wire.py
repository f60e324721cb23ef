"""The wire format of the emulated Intouch REST API (docs/providers/intouch.md).

The writable fields of each contract and their kinds, stored contacts and groups as the API
shows them, Microsoft JSON dates (``/Date(ms+0000)/``), request bodies (JSON or form-encoded,
case-sensitive names, type-checked), path ids, and :class:`Answer`: a finished error response
raised from deep inside a handler (see :func:`fail`).
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from typing import Any

from werkzeug.wrappers import Request, Response

THROTTLE_TEXT = "Number of allowed API requests per minute exceeded"  # section 3.2, exact body
# Writable fields of each contract and their kind (section 4.2, 5.2, 6.2); anything else is ignored.
CONTACT_FIELDS = {"Firstname": "str", "Lastname": "str", "PhoneNumber": "str", "Email": "str",
                  "Description": "str", "Description2": "str", "Description3": "str",
                  "CPAAccepted": "bool", "IsPrivate": "bool"}
CONTACT_READONLY = ("ContactId", "CreatedDate")
GROUP_FIELDS = {"Name": "str", "Description": "str", "IsPrivate": "bool"}
MESSAGE_FIELDS = {"Text": "str", "Receivers": "str", "SenderNumber": "str", "HandledDate": "date",
                  "IsMergeMessage": "bool", "IsPrivate": "bool", "Tariff": "int", "MessageStatus": "str",
                  "FolderId": "int"}
COLUMNS = {"Firstname": "firstname", "Lastname": "lastname", "PhoneNumber": "phone", "Email": "email",
           "Description": "description", "Description2": "description2", "Description3": "description3",
           "CPAAccepted": "cpa", "IsPrivate": "private"}
PHONE = re.compile(r"^\+?\d+$")  # section 4.2 ASSUMPTION: digits and an optional leading "+"
_DATE = re.compile(r"^\\?/Date\((-?\d+)([+-]\d{4})?\)\\?/$")


class Answer(Exception):
    """A finished response raised from deep inside a handler (an error status)."""

    def __init__(self, response: Response) -> None:
        super().__init__(response.status)
        self.response = response


def fail(status: int, text: str = "") -> Answer:
    return Answer(Response(text, status=status, content_type="text/plain; charset=utf-8"))


def json_date(ms: int | None) -> str | None:
    """A Microsoft JSON date as this emulator emits it: ``/Date(<ms>+0000)/`` (section 3)."""
    return None if ms is None else f"/Date({ms}+0000)/"


def contact_json(row: Mapping[str, Any]) -> dict[str, Any]:
    """A stored contact in the wire contract of section 4.2 (alphabetical, as WCF emits it)."""
    return {"CPAAccepted": bool(row["cpa"]), "ContactId": row["id"], "CreatedDate": json_date(row["created"]),
            "Description": row["description"], "Description2": row["description2"],
            "Description3": row["description3"], "Email": row["email"], "Firstname": row["firstname"],
            "IsPrivate": bool(row["private"]), "Lastname": row["lastname"], "PhoneNumber": row["phone"]}


class EncodedContacts:
    """Each stored contact's JSON text, kept until the database changes.

    A refresh of 100,000 contacts in 1,000 groups asks for every contact twice (the contact list,
    then each group's members); encoding them again made the emulator the slowest part of a
    benchmark. The texts are dropped whenever a row has changed since they were made, through
    this connection (``total_changes``) or another one (``PRAGMA data_version``), so an answer is
    always what encoding the rows now would give.
    """

    def __init__(self) -> None:
        self._version: tuple[int, int] = (-1, -1)
        self._texts: dict[int, str] = {}

    def array(self, db: Any, rows: list[Any]) -> str:
        """``json.dumps([contact_json(row) for row in rows])``, from the kept texts where possible."""
        version = (db.total_changes, db.execute("PRAGMA data_version").fetchone()[0])
        if version != self._version:
            self._texts.clear()
            self._version = version
        texts = self._texts
        out = []
        for row in rows:
            text = texts.get(row["id"])
            if text is None:
                text = texts[row["id"]] = json.dumps(contact_json(row))
            out.append(text)
        return "[" + ", ".join(out) + "]"  # json.dumps's own separator


def group_json(row: Mapping[str, Any]) -> dict[str, Any]:
    """A stored group in the wire contract of section 5.2."""
    return {"Description": row["description"], "GroupId": row["id"], "IsPrivate": bool(row["private"]),
            "Name": row["name"]}


def parse_date(value: Any) -> int:
    """Milliseconds since the epoch from ``/Date(ms±hhmm)/``; raises a 400 answer otherwise."""
    match = _DATE.match(str(value).strip()) if isinstance(value, str) else None
    if match is None:
        raise fail(400, f"invalid date {value!r} (expected /Date(milliseconds+0000)/)")
    return int(match.group(1))


def read_body(request: Request, fields: Mapping[str, str]) -> dict[str, Any]:
    """The request body as a dict of known fields, type-checked (section 3).

    JSON or form-encoded. A field spelled in the wrong case answers 406 (section 3: property names
    are case-sensitive); unknown fields are ignored, as a WCF service does.
    """
    if request.mimetype == "application/x-www-form-urlencoded":
        raw: Any = request.form.to_dict()
    else:
        try:
            raw = json.loads(request.get_data(as_text=True) or "null")
        except ValueError:
            raise fail(400, "request body is not valid JSON") from None
    if not isinstance(raw, dict):
        raise fail(400, "request body must be an object")
    lower = {name.lower(): name for name in fields}
    out: dict[str, Any] = {}
    for key, value in raw.items():
        if key not in fields:
            if key.lower() in lower:
                raise fail(406)
            continue
        out[key] = _check_value(key, fields[key], value)
    return out


def _check_value(key: str, kind: str, value: Any) -> Any:
    if value is None:
        return None
    if kind == "bool":
        if isinstance(value, str) and value.lower() in ("true", "false"):
            return value.lower() == "true"
        if isinstance(value, bool):
            return value
    elif kind == "int":
        if isinstance(value, str) and value.lstrip("-").isdigit():
            return int(value)
        if isinstance(value, int) and not isinstance(value, bool):
            return value
    elif kind == "date":
        return parse_date(value)
    elif isinstance(value, (str, int)) and not isinstance(value, bool):
        return str(value)
    raise fail(400, f"{key} has an invalid value")


def int_id(text: str) -> int:
    """A path id; a non-integer answers 405 (section 3.1)."""
    if not text.isdigit():
        raise fail(405, f"{text!r} is not an integer id")
    return int(text)
