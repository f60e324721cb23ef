"""Request handlers of the emulated InTime API for messages and reminders.

Sections 4 and 7 of the reference: ``message/create``, ``message/delete`` and ``reminder/list``,
``reminder/add``, ``reminder/edit``. A message with a future ``senddate`` is "scheduled" until
then and "sent" afterwards; only active reminders can be edited. Each handler takes the
authenticated user and the parsed XML document (or the request, for listings); an InTime error
code is raised as :class:`Fail`.
"""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET

from werkzeug.wrappers import Request, Response

from reconciler.sandbox.intime.store import IntimeStore
from reconciler.sandbox.intime.wire import (
    INPUT_DATE,
    MESSAGE_FIELDS,
    REMINDER_FIELDS,
    Fail,
    child_fields,
    child_items,
    element_flag,
    element_text,
    norm_mobile,
    parse_date,
    parse_int,
    plain_response,
    valid_mobile,
    valid_sender_title,
    xml_response,
)


class IntimeMessageHandlers(IntimeStore):
    """The message and reminder functions of InTime (sections 4 and 7)."""

    # -- messages (section 4) -------------------------------------------------------------------
    def _message_create(self, user: str, root: ET.Element) -> Response:
        if root.tag != "message":
            raise Fail("1:ERROR1")
        f = child_fields(root, MESSAGE_FIELDS)
        flash, multisms = element_flag(f.get("flash")), element_flag(f.get("multisms"))
        checknix, anonymize = element_flag(f.get("checknix")), element_flag(f.get("anonymize"))
        title, body = element_text(f.get("sendertitle")) or "", element_text(f.get("body")) or ""
        if not valid_sender_title(title) or not body:
            raise Fail("1:ERROR1")
        if len(body) > (160 if flash or not multisms else 804):
            raise Fail("1:ERROR1")
        senddate = None
        if "senddate" in f:  # an empty element is not allowed; omit it to send now
            when = parse_date(element_text(f["senddate"]))
            if when < self.now():
                raise Fail("1:ERROR2")
            senddate = when.strftime(INPUT_DATE)
        statusurl = element_text(f.get("statusurl")) or None
        recipients: list[tuple[str, str]] = []
        for item in child_items(f.get("recipients"), "recipient"):
            number, transid = element_text(item) or "", item.get("transid") or ""
            if statusurl and not transid:
                raise Fail("1:ERROR1")
            if not valid_mobile(number):
                raise Fail("1:ERROR3")
            recipients.append((number, transid))
        group_ids = [parse_int(item.get("groupid")) for item in child_items(f.get("groups"), "group")]
        if not recipients and not group_ids:
            raise Fail("2:ERROR2")
        audience = {norm_mobile(number): None for number, _ in recipients}
        blocked = {row["norm"] for row in self.db.execute("SELECT norm FROM nix WHERE user = ?", (user,))}
        for gid in group_ids:
            if not self._group_exists(user, gid):
                raise Fail("1:ERROR3")
            for row in self.db.execute(
                "SELECT c.mobile FROM contacts c JOIN memberships m ON m.contact_id = c.id "
                "WHERE m.group_id = ? AND c.type IN (1, 3)",
                (gid,),
            ):
                if not (checknix and norm_mobile(row["mobile"]) in blocked):
                    audience[norm_mobile(row["mobile"])] = None
        if not audience:
            raise Fail("2:ERROR2")
        cur = self.db.execute(
            "INSERT INTO messages (user, created, senddate, sendertitle, body, flash, multisms, statusurl,"
            " checknix,"
            " anonymize, recipients, groups, audience) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (
                user,
                self.now().strftime(INPUT_DATE),
                senddate,
                title,
                body,
                flash,
                multisms,
                statusurl,
                checknix,
                anonymize,
                json.dumps(recipients),
                json.dumps(group_ids),
                json.dumps(list(audience)),
            ),
        )
        return plain_response(str(cur.lastrowid))

    def _message_delete(self, user: str, root: ET.Element) -> Response:
        if root.tag != "message":
            raise Fail("1:ERROR1")
        message_id = parse_int(element_text(child_fields(root, {"messageid"}).get("messageid")), "2:ERROR1")
        row = self.db.execute(
            "SELECT * FROM messages WHERE id = ? AND user = ?", (message_id, user)
        ).fetchone()
        if row is None or self._status(row) != "scheduled":  # section 4.2 ASSUMPTION
            raise Fail("2:ERROR2")
        self.db.execute("UPDATE messages SET deleted = 1 WHERE id = ?", (message_id,))
        return plain_response(str(message_id))

    # -- reminders (section 7) --------------------------------------------------------------------
    def _list_reminders(self, user: str, request: Request) -> Response:
        sql, args = "SELECT * FROM reminders WHERE user = ?", [user]
        if "id" in request.args:
            sql = sql + " AND id = ?"
            args.append(str(parse_int(request.args["id"], "2:ERROR1")))
        rows = self.db.execute(sql + " ORDER BY id", args).fetchall()
        if not rows:
            raise Fail("2:ERROR1")
        account = self.db.execute("SELECT * FROM users WHERE user = ?", (user,)).fetchone()
        root = ET.Element("reminderappointments")
        for row in rows:
            derived = self._derived(row, account)
            item = ET.SubElement(root, "reminderappointment")
            for name, value in (
                ("appointmentId", str(row["id"])),
                ("appointmentDate", derived["appointment"]),
                ("userId", str(account["user_id"])),
                ("userIdentity", ""),
                ("userAlias", account["alias"]),
                ("active", "true" if row["active"] else "false"),
                ("messageDate", derived["message_date"]),
                ("messageText", derived["message_text"]),
            ):
                ET.SubElement(item, name).text = value
            organizer = ET.SubElement(item, "organizer")
            for name, column in (
                ("title", "organizer_title"),
                ("firstname", "organizer_firstname"),
                ("lastname", "organizer_lastname"),
            ):
                ET.SubElement(organizer, name).text = row[column]
            attendant = ET.SubElement(item, "attendant")
            for name, column in (
                ("firstname", "attendant_firstname"),
                ("lastname", "attendant_lastname"),
                ("mobile", "attendant_mobile"),
            ):
                ET.SubElement(attendant, name).text = row[column]
        return xml_response(root)

    def _reminder_values(self, f: dict[str, ET.Element]) -> dict[str, str]:
        """Columns to write from one reminder element; formats are checked here."""
        values = {name: element_text(el) or "" for name, el in f.items() if name in REMINDER_FIELDS}
        if "appointmentdate" in values:
            values["appointment"] = parse_date(values.pop("appointmentdate")).strftime(INPUT_DATE)
        if "attendant_mobile" in values and not valid_mobile(values["attendant_mobile"]):
            raise Fail("2:ERROR1")
        return values

    def _add_reminders(self, user: str, root: ET.Element) -> Response:
        if root.tag != "reminderappointments":
            raise Fail("1:ERROR1")
        items = child_items(root, "reminderappointment")
        if not items:
            raise Fail("1:ERROR1")
        ids = []
        for item in items:
            f = child_fields(item, REMINDER_FIELDS)
            if "appointmentdate" not in f or "attendant_mobile" not in f:
                raise Fail("1:ERROR1")
            values = self._reminder_values(f)
            ids.append(str(self._insert_reminder(user, values)))
        return plain_response(",".join(ids))

    def _edit_reminders(self, user: str, root: ET.Element) -> Response:
        if root.tag != "reminderappointments":
            raise Fail("1:ERROR1")
        items = child_items(root, "reminderappointment")
        if not items:
            raise Fail("1:ERROR1")
        edits = []
        for item in items:  # validate every item before changing any
            f = child_fields(item, REMINDER_FIELDS | {"appointmentid", "active"})
            if "appointmentid" not in f:
                raise Fail("1:ERROR1")
            active = None if "active" not in f else element_flag(f["active"])
            edits.append((parse_int(element_text(f["appointmentid"])), active, self._reminder_values(f)))
        results, unknown = [], 0
        for rid, active, values in edits:
            row = self.db.execute(
                "SELECT active FROM reminders WHERE id = ? AND user = ?", (rid, user)
            ).fetchone()
            if row is None or not row["active"]:  # section 7.3: only active reminders can be changed
                unknown += row is None
                results.append(str(-rid))
                continue
            if active is False:
                values = {**values, "active": "0"}
            if values:
                assignments = ", ".join(f"{column} = ?" for column in values)
                self.db.execute(f"UPDATE reminders SET {assignments} WHERE id = ?", [*values.values(), rid])
            results.append(str(rid))
        if unknown == len(edits):
            raise Fail("2:ERROR1")
        return plain_response(",".join(results))
