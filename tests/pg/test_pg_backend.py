"""The PostgreSQL backend on a real server: migrations, journal transactions, locks, unlock, push, pull."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from contextlib import contextmanager

import pytest

from reconciler.errors import StateError
from reconciler.state.document import State
from reconciler.state.migrations import LATEST
from reconciler.state.postgres import PostgresBackend
from tests.pg.conftest import Site, pg_execute


@contextmanager
def backend(url: str, schema: str) -> Iterator[PostgresBackend]:
    opened = PostgresBackend(url, schema)
    try:
        yield opened
    finally:
        opened.close()


def test_tables_are_created_and_migrated_once(pg_url: str, pg_schema: str) -> None:
    """The first use creates the schema at the latest version; `migrate` then has nothing to do."""
    with backend(pg_url, pg_schema) as first:
        assert first.load().data["accounts"] == {}
    versions = pg_execute(pg_url, f"SELECT version FROM {pg_schema}.schema_migrations ORDER BY 1")
    assert versions == [(v,) for v in range(1, LATEST + 1)]
    with backend(pg_url, pg_schema) as second:
        assert second.migrate() == []


def test_a_schema_from_a_newer_reconciler_is_refused(pg_url: str, pg_schema: str) -> None:
    """A schema migrated past the versions this reconciler knows is refused, not misread."""
    with backend(pg_url, pg_schema) as first:
        first.load()
    pg_execute(
        pg_url, f"INSERT INTO {pg_schema}.schema_migrations (version, description) VALUES (%s, 'x')", 99
    )
    with backend(pg_url, pg_schema) as second, pytest.raises(StateError, match="version 99, newer than"):
        second.load()


def test_every_write_is_one_transaction_with_its_serial(pg_url: str, pg_schema: str) -> None:
    """Record, intent and forget land whole with the account's serial; records keep every field."""
    with backend(pg_url, pg_schema) as store, store.lock(["a"], "test"):
        state = store.load()
        state.intend("a", "campaigns", "sale", "create")
        state.record("a", "campaigns", "sale", "9", {"text": "Hi"}, protected=True)
        state.record("a", "reminders", "r", "1", {})
        state.forget("a", "reminders", "r")
    with backend(pg_url, pg_schema) as store:
        again = store.load()
    assert again.serials(["a", "b"]) == {"a": 4, "b": 0}
    assert again.intents == []
    assert again.account("a") == {
        "campaigns": {"sale": {"id": "9", "attrs": {"text": "Hi"}, "protected": True}}
    }
    assert again.lineage == state.lineage


def test_a_write_on_top_of_another_runs_is_refused(pg_url: str, pg_schema: str) -> None:
    """When the account's serial moved under a run (its lock was lost), its next write is refused whole."""
    with backend(pg_url, pg_schema) as store:
        state = store.load()
        state.record("a", "reminders", "r", "1", {})
        pg_execute(pg_url, f"UPDATE {pg_schema}.accounts SET serial = serial + 5 WHERE account = 'a'")
        with pytest.raises(StateError, match="account a was written by another run meanwhile"):
            state.record("a", "reminders", "s", "2", {})
    rows = pg_execute(pg_url, f"SELECT key FROM {pg_schema}.items ORDER BY 1")
    assert rows == [("r",)]


def test_accounts_lock_independently_across_sessions(pg_url: str, pg_schema: str) -> None:
    """One session's lock on an account blocks another session on it, not on other accounts."""
    with backend(pg_url, pg_schema) as one, backend(pg_url, pg_schema) as two:
        with one.lock(["se-main"], "reconciler apply"):
            with pytest.raises(StateError) as caught, two.lock(["se-main"], "apply", timeout=0.3):
                pass
            assert "account se-main is locked by another run (host=" in str(caught.value)
            assert "command=reconciler apply" in str(caught.value) and "unlock" not in str(caught.value)
            with two.lock(["oslo"], "apply"):
                [status] = two.lock_status(["se-main"])
                assert status.held and status.holder and status.holder["command"] == "reconciler apply"
        with two.lock(["se-main"], "apply"):
            pass


def test_a_closed_session_releases_its_locks(pg_url: str, pg_schema: str) -> None:
    """A holder whose connection ends (as a killed process's does) leaves the account free."""
    holder = PostgresBackend(pg_url, pg_schema)
    with backend(pg_url, pg_schema) as other:
        lock = holder.lock(["a"], "apply")
        lock.__enter__()
        assert other.lock_status(["a"])[0].held
        holder._conn.close()  # type: ignore[union-attr]  # the connection dies with its process
        with other.lock(["a"], "apply", timeout=5):
            pass
    lock.__exit__(None, None, None)
    holder.close()


def test_unlock_refuses_a_live_holder_and_forces_only_another_hosts(
    pg_site: Callable[..., Site], pg_url: str
) -> None:
    """`state unlock` refuses this host's live holder; another host's only with --force, which ends it."""
    site = pg_site()
    with backend(pg_url, site.schema) as holder, holder.lock(["clinic"], "apply"):
        state = holder.load()
        refused = site.cli("state", "unlock", "--dir", str(site.root), "--force")
        assert refused.exit_code == 1 and "locked by a live run on this host" in refused.output
        pg_execute(pg_url, f"UPDATE {site.schema}.locks SET host = 'ci-runner-7'")
        refused = site.cli("state", "unlock", "--dir", str(site.root))
        assert refused.exit_code == 1 and "rerun with --force" in refused.output, refused.output
        forced = site.cli("state", "unlock", "--dir", str(site.root), "--force")
        assert forced.exit_code == 0, forced.output
        assert "Warning: clinic: broke a lock held on another host (host=ci-runner-7" in forced.output
        with pytest.raises(StateError, match="lost the connection to the database"):
            state.record("clinic", "reminders", "r", "1", {})
    assert (
        site.cli("state", "unlock", "--dir", str(site.root)).output.strip() == "No locks (nothing to unlock)."
    )


def test_the_database_url_is_never_shown(pg_site: Callable[..., Site]) -> None:
    """A connection failure names the backend and the cause, never the URL or its password."""
    site = pg_site()
    site.env["RECONCILER_STATE_URL"] = "postgresql://postgres:Sup3rSecretPw@127.0.0.1:1/test"
    result = site.cli("state", "list", "--dir", str(site.root))
    assert result.exit_code == 1
    assert "Error: PostgreSQL state (schema" in result.output and "cannot connect" in result.output
    assert "Sup3rSecretPw" not in result.output and "postgresql://" not in result.output


def test_a_password_written_into_reconciler_yaml_is_refused(pg_site: Callable[..., Site]) -> None:
    """state.url with a literal password is a config error that does not echo the password."""
    site = pg_site()
    text = (site.root / "reconciler.yaml").read_text(encoding="utf-8")
    text = text.replace("'${RECONCILER_STATE_URL}'", "'postgresql://postgres:Sup3rSecretPw@127.0.0.1/test'")
    (site.root / "reconciler.yaml").write_text(text, encoding="utf-8")
    result = site.cli("validate", str(site.root))
    assert result.exit_code == 1 and "state.url holds a password" in result.output
    assert "Sup3rSecretPw" not in result.output


def test_push_refuses_a_newer_serial_without_force_and_pull_copies_back(
    pg_site: Callable[..., Site], pg_url: str
) -> None:
    """`state push` copies the file in, refuses to overwrite newer database state, `pull` copies it back."""
    site = pg_site()
    path = site.root / ".reconciler" / "state.json"
    local = State(path)
    local.record("clinic", "reminders", "anna-check-up", "11", {"name": "anna-check-up"})
    local.save()
    pushed = site.cli("state", "push", "--dir", str(site.root))
    assert pushed.exit_code == 0 and "Pushed 1 account(s)" in pushed.output, pushed.output
    with backend(pg_url, site.schema) as store, store.lock(["clinic"], "apply"):
        store.load().record("clinic", "reminders", "bo", "12", {})  # a CI run writes: serial 2 > 1
    refused = site.cli("state", "push", "--dir", str(site.root))
    assert refused.exit_code == 1 and "clinic: PostgreSQL state (schema" in refused.output
    assert "is newer (serial 2, copying 1)" in refused.output and "--force" in refused.output
    pulled = site.cli("state", "pull", "--dir", str(site.root))
    assert pulled.exit_code == 0, pulled.output
    data = json.loads(path.read_text(encoding="utf-8"))
    assert sorted(data["accounts"]["clinic"]["reminders"]) == ["anna-check-up", "bo"]
    assert data["serials"] == {"clinic": 2}
    backup = site.root / "backup.json"
    assert site.cli("state", "pull", "--dir", str(site.root), "--file", str(backup)).exit_code == 0
    assert json.loads(backup.read_text(encoding="utf-8"))["lineage"] == data["lineage"]
    local = State.load(path)
    local.forget("clinic", "reminders", "bo")
    local.forget("clinic", "reminders", "anna-check-up")
    local.save()
    older = State.load(path)
    assert older.serials(["clinic"]) == {"clinic": 4}
    forced = site.cli("state", "push", "--dir", str(site.root))
    assert forced.exit_code == 0, forced.output
    with backend(pg_url, site.schema) as store:
        assert store.load().account("clinic") == {}


def test_state_commands_work_on_the_database(pg_site: Callable[..., Site]) -> None:
    """`state import`, `list`, `show`, `mv` and `rm` read and write the PostgreSQL state."""
    site = pg_site()
    root = str(site.root)
    imported = site.cli("state", "import", "clinic/reminders/anna-check-up", "501", "--dir", root)
    assert imported.exit_code == 0, imported.output
    listed = site.cli("state", "list", "--dir", root)
    assert listed.output == "clinic/reminders/anna-check-up\t501\n"
    shown = json.loads(site.cli("state", "show", "clinic/reminders/anna-check-up", "--dir", root).output)
    assert shown["id"] == "501" and shown["attrs"]["name"] == "anna-check-up"
    moved = site.cli("state", "mv", "clinic/reminders/anna-check-up", "clinic/reminders/anna", "--dir", root)
    assert moved.exit_code == 0, moved.output
    removed = site.cli("state", "rm", "clinic/reminders/anna", "--dir", root)
    assert removed.exit_code == 0, removed.output
    assert site.cli("state", "list", "--dir", root).output == ""
    assert site.document()["serials"] == {"clinic": 4}  # import, mv (record + forget), rm
