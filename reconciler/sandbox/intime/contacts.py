"""Request handlers of the emulated InTime API for contacts, groups and the block list.

Sections 5 and 6 of the reference: ``contacts/add``, ``contacts/listgroups``, ``contacts/addgroup``,
``contacts/deletigroup`` (sic) and ``nix/list``, ``nix/addnix``, ``nix/deletenix``. Each handler
takes the authenticated user and the parsed XML document (or the request, for listings) and
answers plain-text ids or XML; an InTime error code is raised as :class:`Fail`.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET

from werkzeug.wrappers import Request, Response

from reconciler.sandbox.intime.store import IntimeStore
from reconciler.sandbox.intime.wire import (
    CONTACT_FIELDS,
    EMAIL,
    Fail,
    bool_attr,
    child_fields,
    child_items,
    element_text,
    norm_mobile,
    parse_int,
    plain_response,
    single_list,
    valid_mobile,
    xml_response,
)


class IntimeContactHandlers(IntimeStore):
    """The contacts, groups and block-list functions of InTime (sections 5 and 6)."""

    # -- contacts and groups (section 5) -----------------------------------------------------------
    def _contacts_add(self, user: str, root: ET.Element) -> Response:
        if root.tag != "contacts":
            raise Fail("1:ERROR1")
        items = child_items(root, "contact")
        if not items:
            raise Fail("1:ERROR1")
        ids = []
        for item in items:  # all-or-nothing: a failure rolls the savepoint back
            f = child_fields(item, CONTACT_FIELDS)
            kind = parse_int(element_text(f.get("type")))
            if kind not in (1, 2, 3):
                raise Fail("1:ERROR1")
            mobile, email = element_text(f.get("mobile")) or "", element_text(f.get("email")) or ""
            if (kind in (1, 3) or mobile) and not valid_mobile(mobile):
                raise Fail("3:ERROR2")
            if (kind in (2, 3) or email) and not EMAIL.match(email):
                raise Fail("3:ERROR1")
            groups = [parse_int(g.get("groupid")) for g in child_items(f.get("groups"), "group")]
            if not all(self._group_exists(user, gid) for gid in groups):
                raise Fail("2:ERROR1")
            cur = self.db.execute(
                "INSERT INTO contacts (user, type, firstname, lastname, email, mobile, extrafield) "
                "VALUES (?, ?, ?, ?, ?, ?, ?)",
                (
                    user,
                    kind,
                    element_text(f.get("firstname")) or "",
                    element_text(f.get("lastname")) or "",
                    email,
                    mobile,
                    element_text(f.get("extrafield")) or "",
                ),
            )
            for gid in dict.fromkeys(groups):
                self.db.execute(
                    "INSERT INTO memberships (contact_id, group_id) VALUES (?, ?)", (cur.lastrowid, gid)
                )
            ids.append(str(cur.lastrowid))
        return plain_response(",".join(ids))

    def _list_groups(self, user: str, request: Request) -> Response:
        rows = self.db.execute("SELECT id, name FROM groups WHERE user = ? ORDER BY id", (user,)).fetchall()
        if not rows:
            raise Fail("2:ERROR1")
        root = ET.Element("groups")
        for row in rows:
            ET.SubElement(root, "group", groupid=str(row["id"])).text = row["name"]
        return xml_response(root)

    def _add_groups(self, user: str, root: ET.Element) -> Response:
        ids = []
        for item in single_list(root, "addgroups", "groups", "group"):
            name = (item.get("groupname") or "").strip()
            if not name:
                raise Fail("1:ERROR1")
            ids.append(
                str(self.db.execute("INSERT INTO groups (user, name) VALUES (?, ?)", (user, name)).lastrowid)
            )
        return plain_response(",".join(ids))

    def _delete_groups(self, user: str, root: ET.Element) -> Response:
        removed = []
        for item in single_list(root, "deletigroups", "groups", "group"):
            gid, cascade = parse_int(item.get("groupid")), bool_attr(item.get("deletecontacts"))
            if not self._group_exists(user, gid):
                continue  # section 5.4 ASSUMPTION: unknown ids are skipped
            if cascade:
                self.db.execute(
                    "DELETE FROM contacts WHERE id IN (SELECT contact_id FROM memberships "
                    "WHERE group_id = ?)",
                    (gid,),
                )
            self.db.execute("DELETE FROM groups WHERE id = ?", (gid,))
            removed.append(str(gid))
        if not removed:
            raise Fail("2:ERROR1")
        return plain_response(",".join(removed))

    # -- block list (section 6) -----------------------------------------------------------------
    def _list_nix(self, user: str, request: Request) -> Response:
        rows = self.db.execute("SELECT mobile FROM nix WHERE user = ? ORDER BY id", (user,)).fetchall()
        if not rows:
            raise Fail("2:ERROR1")
        names: dict[str, tuple[str, str]] = {}
        for row in self.db.execute(
            "SELECT mobile, firstname, lastname FROM contacts WHERE user = ? AND mobile != '' ORDER BY id",
            (user,),
        ):
            names.setdefault(norm_mobile(row["mobile"]), (row["firstname"], row["lastname"]))
        root = ET.Element("nixentries")
        for row in rows:
            entry = ET.SubElement(root, "nixentry")
            first, last = names.get(norm_mobile(row["mobile"]), ("", ""))
            ET.SubElement(entry, "mobile").text = row["mobile"]
            ET.SubElement(entry, "firstname").text = first
            ET.SubElement(entry, "lastname").text = last
        return xml_response(root)

    def _add_nix(self, user: str, root: ET.Element) -> Response:
        ids = []
        for item in single_list(root, "addnixentries", "nixentries", "nixentry"):
            mobile = item.get("mobile")
            if mobile is None:
                raise Fail("1:ERROR1")
            if not valid_mobile(mobile):
                raise Fail("2:ERROR1")
            norm = norm_mobile(mobile)
            row = self.db.execute("SELECT id FROM nix WHERE user = ? AND norm = ?", (user, norm)).fetchone()
            if row is None:  # section 6.2 ASSUMPTION: adding a blocked number returns its existing id
                row = {
                    "id": self.db.execute(
                        "INSERT INTO nix (user, mobile, norm) VALUES (?, ?, ?)", (user, mobile.strip(), norm)
                    ).lastrowid
                }
            ids.append(str(row["id"]))
        return plain_response(",".join(ids))

    def _delete_nix(self, user: str, root: ET.Element) -> Response:
        removed = []
        for item in single_list(root, "deletenixentries", "nixentries", "nixentry"):
            mobile = item.get("mobile")
            if mobile is None:
                raise Fail("1:ERROR1")
            for row in self.db.execute(
                "SELECT id FROM nix WHERE user = ? AND norm = ?", (user, norm_mobile(mobile))
            ).fetchall():
                self.db.execute("DELETE FROM nix WHERE id = ?", (row["id"],))
                removed.append(str(row["id"]))
        if not removed:
            raise Fail("2:ERROR1")
        return plain_response(",".join(removed))
