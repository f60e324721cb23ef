"""Protection on the PostgreSQL backend: the flag is carried, kept by re-recording, and lifted."""

from __future__ import annotations

from reconciler.state.postgres import PostgresBackend


def test_protection_round_trips_through_postgres(pg_url: str, pg_schema: str) -> None:
    """protect, a later record of the item and unprotect each land in PostgreSQL as the file keeps them."""
    store = PostgresBackend(pg_url, pg_schema)
    try:
        with store.lock(["se"], "test"):
            state = store.load()
            state.protect("se", "contacts", "+46701234567", "12")  # an untracked item: id and flag only
            state.record("se", "reminders", "anna", "7", {})
            state.protect("se", "reminders", "anna")
            state.record("se", "reminders", "anna", "8", {})  # apply re-records: the flag stays
    finally:
        store.close()
    store = PostgresBackend(pg_url, pg_schema)
    try:
        again = store.load()
        assert again.account("se") == {
            "contacts": {"+46701234567": {"id": "12", "attrs": {}, "protect": True}},
            "reminders": {"anna": {"id": "8", "attrs": {}, "protect": True}},
        }
        with store.lock(["se"], "test"):
            state = store.load()
            state.unprotect("se", "reminders", "anna")
        assert not store.load().is_protected("se", "reminders", "anna")
    finally:
        store.close()
