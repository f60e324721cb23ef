"""InTime campaigns as scheduled messages (docs/providers/intime.md).

InTime can create a message (``message/create``) and remove it while it is scheduled
(``message/delete``), nothing else: a campaign update is planned as a replace (see
:mod:`.planning`), and a sent message stays sent, so deleting its campaign only drops the record.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from datetime import datetime
from typing import Any

from reconciler.changes import Change
from reconciler.errors import ProviderError
from reconciler.providers.base import Outcome
from reconciler.providers.intime.client import IntimeClient, NothingRemoved
from reconciler.providers.intime.translate import instant, send_date_to_api

GroupId = Callable[[str, str], int]


class CampaignWriter:
    """Applies campaign batches of one account with the provider's client, group ids and clock."""

    def __init__(self, client: IntimeClient, clock: Callable[[], datetime]) -> None:
        """``clock()`` is the provider's now."""
        self.client = client
        self.clock = clock

    def create(self, changes: Sequence[Change], group_id: GroupId) -> list[Outcome]:
        """message/create for each campaign; the new MessageIds. ``group_id(name, what)`` resolves a group."""
        return [
            Outcome(str(self._create_message(c.key, c.after or {}, group_id)), dict(c.after or {}))
            for c in changes
        ]

    def _create_message(self, key: str, attrs: Mapping[str, Any], group_id: GroupId) -> int:
        what = f"create campaign {key}"
        send_at = attrs.get("send_at")
        if not send_at and attrs.get("send_now") is not True:
            raise ProviderError(
                f"intime: {what}: no send_at and send_now is not true; the tool never sends a "
                "campaign immediately unless it says send_now: true"
            )
        send_date = send_date_to_api(send_at)
        text = str(attrs.get("text") or "")
        to = attrs.get("to") or {}
        return self.client.create_message(
            sender=str(attrs.get("sender") or ""),
            body=text,
            send_date=send_date,
            recipients=list(to.get("numbers") or ()),
            group_ids=[group_id(name, what) for name in to.get("groups") or ()],
            flash=bool(attrs.get("flash")),
            multisms=bool(attrs.get("multisms")) or len(text) > 160,
            checknix=True,
            what=what,
        )

    def _remove_message(self, change: Change, *, replacing: bool) -> tuple[str, ...]:
        """message/delete; an id InTime no longer has scheduled is fine while its send time is ahead."""
        what = f"{'replace' if replacing else 'delete'} campaign {change.key}"
        sent_at = (change.before or {}).get("send_at")
        if not replacing and sent_at and instant(str(sent_at)) <= self.clock():
            return (f"message {change.ident} was sent at {sent_at}; only the state record was dropped",)
        try:
            self.client.delete_message(int(str(change.ident)), what=what)
        except NothingRemoved:
            send_at = (change.before or {}).get("send_at")
            if send_at and instant(str(send_at)) > self.clock():
                return (f"InTime no longer had message {change.ident} scheduled (removed outside the tool)",)
            if replacing:
                raise ProviderError(
                    f"intime: {what}: message {change.ident} could not be removed (already sent?); "
                    "no new message was created"
                ) from None
            return (f"message {change.ident} was already sent or removed on InTime",)
        return ()

    def delete(self, changes: Sequence[Change]) -> list[Outcome]:
        """Remove each scheduled message; a sent one only loses its state record (a warning)."""
        return [Outcome(None, warnings=self._remove_message(c, replacing=False)) for c in changes]

    def replace(self, changes: Sequence[Change], group_id: GroupId) -> list[Outcome]:
        """Remove each scheduled message, then create its replacement; the new MessageIds."""
        outcomes = []
        for change in changes:
            warnings = self._remove_message(change, replacing=True)
            new_id = self._create_message(change.key, change.after or {}, group_id)
            outcomes.append(Outcome(str(new_id), dict(change.after or {}), warnings))
        return outcomes
