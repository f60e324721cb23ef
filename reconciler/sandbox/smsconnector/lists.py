"""Request handlers of the emulated SMSConnector API for phone lists and campaigns.

Sections 5 and 6 of the reference: create lists and add entries (a re-added number keeps its
place), read lists and their numbers, create a campaign and link, unlink, launch or stop it. A
campaign that was launched and whose launch time has passed is sent and cannot change.
"""

from __future__ import annotations

import json
from typing import Any

from reconciler.sandbox.smsconnector.store import SmsConnectorStore
from reconciler.sandbox.smsconnector.wire import (
    ADD_ENTRIES_LIMIT,
    ENTRY_FIELDS,
    FAILED,
    INVALID_PARAMETERS,
    NOT_FOUND,
    Call,
    Fail,
    normalize_uk,
    parse_int,
    parse_when,
)


class SmsConnectorListHandlers(SmsConnectorStore):
    """The phone list and campaign functions of SMSConnector (sections 5 and 6)."""

    # -- phone lists (section 5) -----------------------------------------------------------------
    def _folder(self, value: Any) -> int:
        folder = parse_int(value or 0)
        if folder and self.db.execute("SELECT 1 FROM folders WHERE id = ?", (folder,)).fetchone() is None:
            raise Fail(NOT_FOUND)
        return folder

    def _list(self, value: Any) -> int:
        list_id = parse_int(value, NOT_FOUND)
        if self.db.execute("SELECT 1 FROM lists WHERE id = ?", (list_id,)).fetchone() is None:
            raise Fail(NOT_FOUND)
        return list_id

    def _create_list(self, call: Call) -> int:
        name = call.get("listname") or call.get("name")  # section 10.1: ListName, or Name
        if not isinstance(name, str) or not name.strip():
            raise Fail(INVALID_PARAMETERS)
        folder = self._folder(call.get("folder"))
        cur = self.db.execute("INSERT INTO lists (name, folder) VALUES (?, ?)", (name, folder))
        return int(cur.lastrowid or 0)

    def _store_entry(self, list_id: int, entry: Any) -> bool:
        fields = {str(k).lower(): v for k, v in entry.items()} if isinstance(entry, dict) else {}
        number = normalize_uk(fields.get("phonenumber"))
        if number is None:
            return False
        data = json.dumps({name: fields.get(name.lower()) for name in ENTRY_FIELDS})
        updated = self.db.execute("UPDATE entries SET phone = ?, fields = ? WHERE list_id = ? AND number = ?",
                                  (str(fields["phonenumber"]), data, list_id, number)).rowcount
        if not updated:  # section 5.3: re-adding a number upserts and keeps its place
            self.db.execute("INSERT INTO entries VALUES (?, ?, (SELECT coalesce(max(seq), 0) + 1 "
                            "FROM entries WHERE list_id = ?), ?, ?)",
                            (list_id, number, list_id, str(fields["phonenumber"]), data))
        return True

    def _add_single_entry(self, call: Call) -> int:
        list_id = self._list(call.get("listid"))
        if not self._store_entry(list_id, call.get("listentry")):
            raise Fail(INVALID_PARAMETERS)
        return 1

    def _add_multiple_entries(self, call: Call) -> int:
        list_id = self._list(call.get("listid"))
        entries = call.get("listentries")
        if not isinstance(entries, list) or len(entries) > ADD_ENTRIES_LIMIT:
            raise Fail(INVALID_PARAMETERS)  # ASSUMPTION: batch limit (docs/providers/smsconnector.md)
        return sum(self._store_entry(list_id, entry) for entry in entries)

    def _get_lists(self, call: Call) -> list[dict[str, Any]]:
        folder = self._folder(call.args[0] if call.args else call.query.get("folder"))  # path or ?Folder=
        rows = self.db.execute("SELECT id FROM lists WHERE folder = ? ORDER BY id", (folder,)).fetchall()
        return [self._list_info(r["id"]) for r in rows]

    def _get_list(self, call: Call) -> dict[str, Any]:
        return self._list_info(self._list(call.args[0]))

    def _get_numbers(self, call: Call) -> list[str]:
        return [r["phone"] for r in self._entries(self._list(call.args[0]))]

    def _position(self, call: Call) -> tuple[list[Any], int]:
        rows = self._entries(self._list(call.args[0]))
        number = normalize_uk(call.args[1])
        for index, row in enumerate(rows):
            if row["number"] == number:
                return rows, index
        raise Fail(NOT_FOUND)

    def _get_number_detail(self, call: Call) -> dict[str, Any]:
        rows, index = self._position(call)
        detail: dict[str, Any] = json.loads(rows[index]["fields"])
        return detail

    def _get_previous_number(self, call: Call) -> str | None:
        rows, index = self._position(call)
        return str(rows[index - 1]["phone"]) if index > 0 else None

    def _get_next_number(self, call: Call) -> str | None:
        rows, index = self._position(call)
        return str(rows[index + 1]["phone"]) if index + 1 < len(rows) else None

    # -- campaigns (section 6) -------------------------------------------------------------------
    def _create_campaign(self, call: Call) -> int:
        title, text = call.get("title"), call.get("text")
        brand, sender = call.get("brand") or None, str(call.get("fromnumber") or "")
        if not (isinstance(title, str) and title.strip() and isinstance(text, str) and text.strip()):
            raise Fail(INVALID_PARAMETERS)
        unknown_brand = brand is not None and brand not in self._company("brand")
        if sender not in self._company("header") or unknown_brand:
            raise Fail(INVALID_PARAMETERS)
        try:
            launch_at = parse_when(call.get("launchat"))
        except (TypeError, ValueError):
            raise Fail(INVALID_PARAMETERS) from None
        folder = self._folder(call.get("folder"))
        lease = call.get("lease")
        cur = self.db.execute("INSERT INTO campaigns (title, text, folder, brand, from_number, launch_at, "
                              "lease) VALUES (?, ?, ?, ?, ?, ?, ?)",
                              (title, text, folder, brand, sender, launch_at,
                               lease if isinstance(lease, int) else None))
        return int(cur.lastrowid or 0)

    def _campaign(self, call: Call) -> Any:
        row = self.db.execute("SELECT * FROM campaigns WHERE id = ?",
                              (parse_int(call.get("campaignid"), NOT_FOUND),)).fetchone()
        if row is None:
            raise Fail(NOT_FOUND)
        if row["armed"] and row["launch_at"] <= self.clock():
            raise Fail(FAILED)  # sent: nothing can change any more (section 6 ASSUMPTION)
        return row

    def _link(self, call: Call) -> bool:
        campaign, list_id = self._campaign(call)["id"], self._list(call.get("listid"))
        self.db.execute("INSERT OR IGNORE INTO campaign_lists VALUES (?, ?)", (campaign, list_id))
        return True

    def _unlink(self, call: Call) -> bool:
        campaign, list_id = self._campaign(call)["id"], self._list(call.get("listid"))
        self.db.execute("DELETE FROM campaign_lists WHERE campaign_id = ? AND list_id = ?",
                        (campaign, list_id))
        return True

    def _launch(self, call: Call) -> bool:
        row = self._campaign(call)
        linked = self.db.execute("SELECT 1 FROM campaign_lists WHERE campaign_id = ?",
                                 (row["id"],)).fetchone()
        if linked is None or row["launch_at"] <= self.clock():
            raise Fail(INVALID_PARAMETERS)
        self.db.execute("UPDATE campaigns SET armed = 1 WHERE id = ?", (row["id"],))
        return True

    def _stop(self, call: Call) -> bool:
        self.db.execute("UPDATE campaigns SET armed = 0 WHERE id = ?", (self._campaign(call)["id"],))
        return True

