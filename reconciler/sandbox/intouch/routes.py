"""Request handlers of the emulated Intouch REST API, one per resource (sections 4-9).

A :class:`Context` is one authenticated request (user, API version, effective method); its
``*_route`` methods answer ``/user``, ``/contacts``, ``/groups``, ``/messages`` and ``/folders``
and the paths below them, raising :class:`Answer` (via :func:`fail`) for error statuses.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from werkzeug.wrappers import Request, Response

from reconciler.sandbox.intouch.store import IntouchStore
from reconciler.sandbox.intouch.wire import (
    COLUMNS,
    CONTACT_FIELDS,
    GROUP_FIELDS,
    MESSAGE_FIELDS,
    PHONE,
    contact_json,
    fail,
    group_json,
    int_id,
    json_date,
    read_body,
)


class Context:
    """One authenticated request: the user, the API version (``"1"``/``"2"``) and the method."""

    def __init__(self, emu: IntouchStore, request: Request, user: dict[str, Any], version: str,
                 method: str) -> None:
        self.emu = emu
        self.db = emu.db
        self.request = request
        self.user = user
        self.version = version
        self.method = method
        self.org = str(user["domain"]).lower()

    # -- answers ----------------------------------------------------------------------------------
    def require(self, function: str) -> None:
        """Section 8 ASSUMPTION: a missing permission is an authorisation failure (406)."""
        if function not in self.user["functions"]:
            raise fail(406)

    def allow(self, *methods: str) -> None:
        if self.method not in methods:
            raise fail(405, f"{self.method} is not allowed here (use {', '.join(methods)})")

    @staticmethod
    def json(data: Any, status: int = 200) -> Response:
        return Response(json.dumps(data), status=status, content_type="application/json; charset=utf-8")

    def contacts_json(self, rows: list[Any]) -> Response:
        """A JSON array of stored contacts (section 4.2), encoded once per contact and change."""
        text = self.emu.encoded.array(self.db, rows)
        return Response(text, status=200, content_type="application/json; charset=utf-8")

    def created(self, kind: str, ident: int, data: dict[str, Any]) -> Response:
        """Section 4.1/5.1: v1 answers 200 + the object, v2 201 + Location + the bare id."""
        if self.version == "1":
            return self.json(data)
        response = self.json(ident, 201)
        response.headers["Location"] = f"{self.request.host_url}{self.version}/{kind}/{ident}"
        return response

    def done(self) -> Response:
        """Section 3.1: PUT and DELETE answer 204 without a body."""
        return Response(status=204)

    def now(self) -> int:
        return int(self.emu.clock() * 1000)

    # -- /user ------------------------------------------------------------------------------------
    def user_route(self, rest: list[str]) -> Response:
        if rest:
            raise fail(404)
        self.allow("GET")
        settings = json.loads(self.user["settings"])
        return self.json({
            "AllowedFunctions": list(self.user["functions"]),
            "AllowedSenderIds": json.loads(self.user["sender_ids"]),
            "Organization": json.loads(self.user["organization"]),
            "Settings": [{"Name": name, "Value": value} for name, value in settings.items()],
        })

    # -- /contacts --------------------------------------------------------------------------------
    def contacts_route(self, rest: list[str]) -> Response:
        if not rest:
            self.allow("GET", "POST")
            if self.method == "GET":
                return self.contacts_json(self._contacts(""))
            return self._create_contact()
        if rest == ["count"]:
            self.allow("GET")
            count = self.db.execute("SELECT COUNT(*) FROM contacts WHERE org = ?", (self.org,)).fetchone()[0]
            return self.json(count)  # section 11.8 ASSUMPTION: a bare integer
        if len(rest) == 2 and rest[0] == "phonenumber":
            self.allow("GET")
            row = self.db.execute("SELECT * FROM contacts WHERE org = ? AND phone = ? ORDER BY id LIMIT 1",
                                  (self.org, rest[1])).fetchone()
            if row is None:
                raise fail(404)
            return self.json(contact_json(row))
        if len(rest) == 2 and rest[0] == "search":
            self.allow("GET")
            return self.json([contact_json(r) for r in _search(self._contacts(""), rest[1])])
        if len(rest) != 1:
            raise fail(404)
        self.allow("GET", "PUT", "DELETE")
        contact = self._contact(int_id(rest[0]))
        if self.method == "GET":
            return self.json(contact_json(contact))
        self.require("EDIT_CONTACT")
        if self.method == "DELETE":  # section 4.2 ASSUMPTION: memberships go with the contact
            self.db.execute("DELETE FROM contacts WHERE id = ?", (contact["id"],))
            return self.done()
        values = _contact_values(read_body(self.request, CONTACT_FIELDS))
        sets = ", ".join(f"{column} = ?" for column in values)
        self.db.execute(f"UPDATE contacts SET {sets} WHERE id = ?", (*values.values(), contact["id"]))
        return self.done()

    def _create_contact(self) -> Response:
        self.require("EDIT_CONTACT")
        values = _contact_values(read_body(self.request, CONTACT_FIELDS))
        columns = ", ".join(values)
        cur = self.db.execute(
            f"INSERT INTO contacts (org, created, {columns}) VALUES (?, ?, {', '.join('?' * len(values))})",
            (self.org, self.now(), *values.values()))
        ident = int(cur.lastrowid or 0)
        return self.created("contacts", ident, contact_json(self._contact(ident)))

    def _contacts(self, where: str, *args: Any) -> list[Any]:
        sql = f"SELECT c.* FROM contacts c {where} {'AND' if where else 'WHERE'} c.org = ? ORDER BY c.id"
        return self.db.execute(sql, (*args, self.org)).fetchall()

    def _contact(self, ident: int) -> Any:
        row = self.db.execute("SELECT * FROM contacts WHERE id = ? AND org = ?", (ident, self.org)).fetchone()
        if row is None:
            raise fail(404)
        return row

    # -- /groups ----------------------------------------------------------------------------------
    def groups_route(self, rest: list[str]) -> Response:
        if not rest:
            self.allow("GET", "POST")
            if self.method == "GET":
                rows = self.db.execute("SELECT * FROM groups WHERE org = ? ORDER BY id", (self.org,))
                return self.json([group_json(r) for r in rows.fetchall()])
            self.require("EDIT_GROUP")
            values = self._group_values(None)
            cur = self.db.execute("INSERT INTO groups (org, name, description, private) VALUES (?, ?, ?, ?)",
                                  (self.org, *values))
            ident = int(cur.lastrowid or 0)
            return self.created("groups", ident, group_json(self._group(ident)))
        group = self._group(int_id(rest[0]))
        if len(rest) == 1:
            return self._one_group(group)
        if rest[1] != "contacts":
            raise fail(404)
        members = "JOIN members m ON m.contact_id = c.id WHERE m.group_id = ?"
        if len(rest) == 2:
            self.allow("GET")
            return self.contacts_json(self._contacts(members, group["id"]))
        if len(rest) == 4 and rest[2] == "search":
            self.allow("GET")
            found = _search(self._contacts(members, group["id"]), rest[3])
            return self.json([contact_json(r) for r in found])
        if len(rest) != 3:
            raise fail(404)
        self.allow("PUT", "DELETE")
        contact = self._contact(int_id(rest[2]))
        self.require("EDIT_GROUP")
        pair = (group["id"], contact["id"])
        if self.method == "PUT":  # section 5.2 ASSUMPTION: adding an existing member is a no-op 204
            self.db.execute("INSERT OR IGNORE INTO members (group_id, contact_id) VALUES (?, ?)", pair)
            return self.done()
        cur = self.db.execute("DELETE FROM members WHERE group_id = ? AND contact_id = ?", pair)
        if cur.rowcount == 0:  # section 5.2 ASSUMPTION: removing a non-member is 404
            raise fail(404)
        return self.done()

    def _one_group(self, group: Any) -> Response:
        self.allow("GET", "PUT", "DELETE")
        if self.method == "GET":
            return self.json(group_json(group))
        self.require("EDIT_GROUP")
        if self.method == "DELETE":  # section 5.2 ASSUMPTION: the contacts stay
            self.db.execute("DELETE FROM groups WHERE id = ?", (group["id"],))
            return self.done()
        values = self._group_values(group["id"])
        self.db.execute("UPDATE groups SET name = ?, description = ?, private = ? WHERE id = ?",
                        (*values, group["id"]))
        return self.done()

    def _group_values(self, own_id: int | None) -> tuple[str, str | None, int]:
        """Name, Description, IsPrivate from the body; omitted -> null/false (full replace)."""
        body = read_body(self.request, GROUP_FIELDS)
        name = (body.get("Name") or "").strip()
        if not name:
            raise fail(400, "Name is required")
        clash = self.db.execute("SELECT id FROM groups WHERE org = ? AND name = ? AND id IS NOT ?",
                                (self.org, name, own_id)).fetchone()
        if clash is not None:  # section 5.2 ASSUMPTION: duplicate names are rejected
            raise fail(400, f"a group named {name!r} already exists")
        return name, body.get("Description"), int(bool(body.get("IsPrivate")))

    def _group(self, ident: int) -> Any:
        row = self.db.execute("SELECT * FROM groups WHERE id = ? AND org = ?", (ident, self.org)).fetchone()
        if row is None:
            raise fail(404)
        return row

    # -- /messages --------------------------------------------------------------------------------
    def messages_route(self, rest: list[str]) -> Response:
        if not rest:
            self.allow("POST")
            self.require("SEND_SMS")
            return self._send()
        if len(rest) != 1:
            raise fail(404)
        self.allow("GET", "DELETE")
        match = re.fullmatch(r"[IO]_(\d+)", rest[0])
        row = match and self.db.execute("SELECT * FROM messages WHERE id = ? AND org = ?",
                                        (int(match.group(1)), self.org)).fetchone()
        if not row or rest[0][0] != row["direction"]:
            raise fail(404)
        if self.method == "GET":
            return self.json(self._message_json(row))
        self.require("SEND_SMS")  # section 6.1: deleting an unsent message cancels it
        self.db.execute("DELETE FROM messages WHERE id = ?", (row["id"],))
        return self.done()

    def _send(self) -> Response:
        """Section 6 ASSUMPTIONS: validate text, receivers and sender; store in the Outbox."""
        body = read_body(self.request, MESSAGE_FIELDS)
        text, receivers = body.get("Text") or "", body.get("Receivers") or ""
        if not text.strip() or not receivers.strip():
            raise fail(400, "Text and Receivers are required")
        for receiver in (r.strip() for r in receivers.split(";") if r.strip()):
            ref = re.fullmatch(r"/(contacts|groups)/(\d+)", receiver)
            if ref:
                table = "contacts" if ref.group(1) == "contacts" else "groups"
                if not self.db.execute(f"SELECT 1 FROM {table} WHERE id = ? AND org = ?",
                                       (int(ref.group(2)), self.org)).fetchone():
                    raise fail(400, f"unknown receiver {receiver}")
            elif not PHONE.match(receiver):
                raise fail(400, f"invalid receiver {receiver!r}")
        settings = json.loads(self.user["settings"])
        sender = body.get("SenderNumber") or settings.get("SENDER_ID", "")
        allowed = json.loads(self.user["sender_ids"])
        if settings.get("FREE_SENDER_ID", "False") != "True" and sender not in allowed:
            raise fail(400, f"sender {sender!r} is not allowed for this user")
        folder = self.db.execute("SELECT id FROM folders WHERE org = ? AND type = 'Outbox'",
                                 (self.org,)).fetchone()
        handled = body.get("HandledDate") or self.now()
        cur = self.db.execute(
            "INSERT INTO messages (org, direction, folder_id, text, receivers, sender, handled, is_merge, "
            "private, tariff) VALUES (?, 'O', ?, ?, ?, ?, ?, ?, ?, ?)",
            (self.org, folder["id"] if folder else None, text, receivers, sender, handled,
             int(bool(body.get("IsMergeMessage"))), int(bool(body.get("IsPrivate"))),
             body.get("Tariff") or 0))
        row = self.db.execute("SELECT * FROM messages WHERE id = ?", (cur.lastrowid,)).fetchone()
        return self.json(self._message_json(row))

    def _message_json(self, row: Any) -> dict[str, Any]:
        if row["direction"] == "I":
            status = "Unknown"
        else:
            status = "Scheduled" if row["handled"] > self.now() else "Sent"
        return {"FolderId": row["folder_id"], "HandledDate": json_date(row["handled"]),
                "IsMergeMessage": bool(row["is_merge"]), "IsPrivate": bool(row["private"]),
                "MessageId": f"{row['direction']}_{row['id']}", "MessageStatus": status,
                "Receivers": row["receivers"], "SenderNumber": row["sender"], "Tariff": row["tariff"],
                "Text": row["text"]}

    # -- /folders ---------------------------------------------------------------------------------
    def folders_route(self, rest: list[str]) -> Response:
        self.allow("GET")
        self.require("READ_SMS")
        if not rest:
            rows = self.db.execute(
                "SELECT f.*, (SELECT COUNT(*) FROM messages m WHERE m.folder_id = f.id) AS n "
                "FROM folders f WHERE org = ? ORDER BY id", (self.org,)).fetchall()
            return self.json(_folder_tree(rows, None))
        if len(rest) != 2 or rest[1] != "messages":
            raise fail(404)
        folder_id = int_id(rest[0])
        if not self.db.execute("SELECT 1 FROM folders WHERE id = ? AND org = ?",
                               (folder_id, self.org)).fetchone():
            raise fail(404)
        rows = self.db.execute("SELECT * FROM messages WHERE folder_id = ? ORDER BY id",
                               (folder_id,)).fetchall()
        base = f"{self.request.host_url}{self.version}/messages/"
        return self.json([{
            "DeliverStatus": "Unknown", "DeliverTime": None, "Direction": r["direction"],
            "From": r["sender"], "FromNumber": r["sender"], "MessageId": f"{r['direction']}_{r['id']}",
            "MessageType": "SMS", "ResourceURI": f"{base}{r['direction']}_{r['id']}",
            "SendReceiveTime": json_date(r["handled"]), "Text": r["text"], "To": r["receivers"],
        } for r in rows])


def _contact_values(body: Mapping[str, Any]) -> dict[str, Any]:
    """Column values of a POST/PUT contact body: every writable field, omitted -> null/false."""
    phone = body.get("PhoneNumber")
    if not phone or not PHONE.match(phone):
        raise fail(400, "PhoneNumber is required: digits with an optional leading +")
    return {column: (int(bool(body.get(name))) if CONTACT_FIELDS[name] == "bool" else body.get(name))
            for name, column in COLUMNS.items()}


def _search(rows: Iterable[Any], text: str) -> list[Any]:
    """Section 4.1: every space-separated term matches some field (case-insensitive substring)."""
    terms = [t.lower() for t in text.split() if t]
    fields = ("firstname", "lastname", "description", "description2", "description3", "email", "phone")
    found = []
    for row in rows:
        haystack = [str(row[f]).lower() for f in fields if row[f]]
        if all(any(term in value for value in haystack) for term in terms):
            found.append(row)
    return found


def _folder_tree(rows: Sequence[Any], parent: int | None) -> list[dict[str, Any]]:
    return [{"FolderId": r["id"], "FolderType": r["type"], "IsPrivate": bool(r["private"]),
             "IsUserDeletable": bool(r["deletable"]), "MessagesInFolder": r["n"], "Name": r["name"],
             "ParentFolderId": r["parent_id"], "SubFolders": _folder_tree(rows, r["id"])}
            for r in rows if r["parent_id"] == parent]
