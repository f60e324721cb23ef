"""Request handlers of the emulated SMSConnector API for opt-outs, messages and text-ins.

Sections 7 and 8 of the reference: STOP and START events (all, from a date, or since yesterday),
recent delivery failures, instant messages and two-factor codes, inbound messages and
conversations, and Text-In keywords.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from secrets import randbelow
from typing import Any

from reconciler.sandbox.smsconnector.store import SmsConnectorStore
from reconciler.sandbox.smsconnector.wire import (
    INVALID_PARAMETERS,
    NOT_FOUND,
    NOT_PERMITTED,
    UK,
    Call,
    Fail,
    format_when,
    normalize_uk,
    parse_int,
    parse_when,
)


class SmsConnectorMessagingHandlers(SmsConnectorStore):
    """The status, message and text-in functions of SMSConnector (sections 7 and 8)."""

    # -- status, messages, text-ins (sections 7 and 8) -------------------------------------------
    def _since(self, call: Call) -> float:
        try:
            return parse_when(call.query.get("datefrom"))
        except (TypeError, ValueError):
            raise Fail(INVALID_PARAMETERS) from None

    def _yesterday(self) -> float:
        today = datetime.fromtimestamp(self.clock(), UK).replace(hour=0, minute=0, second=0, microsecond=0)
        return (today - timedelta(days=1)).timestamp()

    def _events(self, kind: str, since: float = float("-inf")) -> list[dict[str, Any]]:
        rows = self.db.execute("SELECT * FROM events WHERE kind = ? AND at >= ? ORDER BY at, seq",
                               (kind, since))
        return [{"PhoneNumber": r["number"], "Date": format_when(r["at"])} for r in rows]

    def _all_stops(self, call: Call) -> list[dict[str, Any]]:
        return self._events("stop")

    def _stops_from_date(self, call: Call) -> list[dict[str, Any]]:
        return self._events("stop", self._since(call))

    def _recent_stops(self, call: Call) -> list[dict[str, Any]]:
        return self._events("stop", self._yesterday())

    def _all_reinstates(self, call: Call) -> list[dict[str, Any]]:
        return self._events("start")

    def _reinstates_from_date(self, call: Call) -> list[dict[str, Any]]:
        return self._events("start", self._since(call))

    def _recent_reinstates(self, call: Call) -> list[dict[str, Any]]:
        return self._events("start", self._yesterday())

    def _recent_fails(self, call: Call) -> list[str]:
        rows = self.db.execute("SELECT number FROM events WHERE kind = 'fail' AND at >= ? GROUP BY number "
                               "HAVING count(*) >= 3 ORDER BY min(seq)", (self._since(call),))
        return [r["number"] for r in rows]

    def _send(self, call: Call, text: str) -> None:
        row = self.db.execute("SELECT can_send FROM users WHERE username = ?", (call.user,)).fetchone()
        if not row["can_send"]:
            raise Fail(NOT_PERMITTED)
        sender, number = str(call.get("fromnumber") or ""), normalize_uk(call.get("tonumber"))
        if sender not in self._company("header") or number is None or not text:
            raise Fail(INVALID_PARAMETERS)
        self.db.execute("INSERT INTO messages (direction, from_number, to_number, body, at) VALUES "
                        "('out', ?, ?, ?, ?)", (sender, number, text, self.clock()))

    def _send_instant_message(self, call: Call) -> str:
        self._send(call, str(call.get("message") or ""))
        return ""

    def _send_two_factor_token(self, call: Call) -> str:
        code = f"{randbelow(10**6):06d}"
        self._send(call, f"Your code is {code}")
        return code

    def _messages(self, where: str, args: tuple[Any, ...]) -> list[dict[str, Any]]:
        rows = self.db.execute(f"SELECT * FROM messages WHERE {where} ORDER BY at, seq", args)
        return [{"From": r["from_number"], "To": r["to_number"], "Message": r["body"],
                 "DateReceived": format_when(r["at"])} for r in rows]

    def _all_inbound(self, call: Call) -> list[dict[str, Any]]:
        return self._messages("direction = 'in'", ())

    def _inbound_from_date(self, call: Call) -> list[dict[str, Any]]:
        return self._messages("direction = 'in' AND at >= ?", (self._since(call),))

    def _recent_inbound(self, call: Call) -> list[dict[str, Any]]:
        return self._messages("direction = 'in' AND at >= ?", (self._yesterday(),))

    def _conversation(self, call: Call) -> list[dict[str, Any]]:
        number = normalize_uk(call.args[0])
        if number is None:
            raise Fail(INVALID_PARAMETERS)
        return self._messages("from_number = ? OR to_number = ?", (number, number))

    def _text_ins(self, since: float) -> list[dict[str, Any]]:
        rows = self.db.execute("SELECT * FROM textins WHERE at >= ? ORDER BY at, seq", (since,))
        return [{"TextInID": r["text_in_id"], "PhoneNumber": r["number"], "Keyword": r["keyword"],
                 "Date": format_when(r["at"])} for r in rows]

    def _all_text_ins(self, call: Call) -> list[dict[str, Any]]:
        return self._text_ins(float("-inf"))

    def _text_ins_from_date(self, call: Call) -> list[dict[str, Any]]:
        return self._text_ins(self._since(call))

    def _recent_text_ins(self, call: Call) -> list[dict[str, Any]]:
        return self._text_ins(self._yesterday())

    def _text_in_contacts(self, call: Call) -> list[str]:
        start = self._since(call)
        try:
            end = parse_when(call.query.get("dateto"))
        except (TypeError, ValueError):
            raise Fail(INVALID_PARAMETERS) from None
        if end < start or end - start > 7 * 86400:  # "time difference is limited to one week"
            raise Fail(INVALID_PARAMETERS)
        rows = self.db.execute("SELECT DISTINCT number FROM textins WHERE text_in_id = ? "
                               "AND at BETWEEN ? AND ? ORDER BY number",
                               (parse_int(call.args[0], NOT_FOUND), start, end))
        return [r["number"] for r in rows]

