"""Versioned schema migrations of the PostgreSQL state backend, run automatically on connect.

Each migration runs once, in one transaction with the version row that records it, under a
transaction advisory lock so two runs starting together never migrate twice. A database migrated by
a newer reconciler (a version this one does not know) is refused rather than misread.
"""

from __future__ import annotations

from typing import Any

from psycopg import Connection, sql

from reconciler.errors import StateError

# (version, what it does, statements); {schema} is the quoted schema name.
MIGRATIONS: tuple[tuple[int, str, tuple[str, ...]], ...] = (
    (
        1,
        "lineage, per-account serials, items, intents and lock holders",
        (
            "CREATE TABLE {schema}.meta (key text PRIMARY KEY, value text NOT NULL)",
            "CREATE TABLE {schema}.accounts ("
            " account text PRIMARY KEY,"
            " serial bigint NOT NULL CHECK (serial >= 0),"
            " updated_at timestamptz NOT NULL DEFAULT now())",
            "CREATE TABLE {schema}.items ("
            " account text NOT NULL, type text NOT NULL, key text NOT NULL,"
            " record jsonb NOT NULL CHECK (jsonb_typeof(record) = 'object'),"
            " updated_at timestamptz NOT NULL DEFAULT now(),"
            " PRIMARY KEY (account, type, key))",
            "CREATE TABLE {schema}.intents ("
            " account text NOT NULL, type text NOT NULL, key text NOT NULL,"
            " action text NOT NULL, at text NOT NULL,"
            " PRIMARY KEY (account, type, key))",
            "CREATE TABLE {schema}.locks ("
            " account text PRIMARY KEY, backend_pid integer NOT NULL,"
            " host text NOT NULL, pid integer NOT NULL, command text NOT NULL, since text NOT NULL)",
            "INSERT INTO {schema}.meta (key, value) VALUES ('lineage', gen_random_uuid()::text)",
        ),
    ),
)
LATEST = MIGRATIONS[-1][0]


def _q(statement: str, schema: str) -> sql.Composed:
    return sql.SQL(statement).format(schema=sql.Identifier(schema))


def current_version(conn: Connection[Any], schema: str) -> int:
    """The schema's migration version (0: not created yet)."""
    table = conn.execute("SELECT to_regclass(%s)", (f'"{schema}".schema_migrations',)).fetchone()
    if table is None or table[0] is None:
        return 0
    row = conn.execute(
        _q("SELECT coalesce(max(version), 0) FROM {schema}.schema_migrations", schema)
    ).fetchone()
    return int(row[0]) if row else 0


def migrate(conn: Connection[Any], schema: str, lock_key: int, where: str) -> list[int]:
    """Bring ``schema`` to the latest version; return the versions applied now (empty: up to date)."""
    if current_version(conn, schema) == LATEST:
        return []
    applied: list[int] = []
    with conn.transaction():
        conn.execute("SELECT pg_advisory_xact_lock(%s, 0)", (lock_key,))
        exists = conn.execute("SELECT 1 FROM pg_namespace WHERE nspname = %s", (schema,)).fetchone()
        if not exists:
            conn.execute(_q("CREATE SCHEMA {schema}", schema))
        conn.execute(
            _q(
                "CREATE TABLE IF NOT EXISTS {schema}.schema_migrations ("
                " version integer PRIMARY KEY, description text NOT NULL,"
                " applied_at timestamptz NOT NULL DEFAULT now())",
                schema,
            )
        )
        version = current_version(conn, schema)
        if version > LATEST:
            raise StateError(
                f"{where}: the schema is at version {version}, newer than this reconciler knows "
                f"({LATEST}); upgrade reconciler"
            )
        for number, description, statements in MIGRATIONS:
            if number <= version:
                continue
            for statement in statements:
                conn.execute(_q(statement, schema))
            conn.execute(
                _q("INSERT INTO {schema}.schema_migrations (version, description) VALUES (%s, %s)", schema),
                (number, description),
            )
            applied.append(number)
    return applied
