"""What a PostgreSQL store's schema holds, so that a ``ledger init`` that fails removes
what it created there, and only that: the whole schema when it made the schema, else the
tables and types that were not there before it."""

from __future__ import annotations

from typing import Any

from psycopg.sql import SQL, Identifier

Relations = frozenset[tuple[str, str]] | None
"""The tables (``r``) and stand-alone composite types (``c``) of a schema, by name and
kind; None when there is no such schema."""

_FOUND = "SELECT EXISTS (SELECT 1 FROM pg_namespace WHERE nspname = %s) AS found"
_RELATIONS = (
    "SELECT c.relname, c.relkind FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
    "WHERE n.nspname = %s AND c.relkind IN ('r', 'c')"
)


def schema_relations(datastore: Any) -> Relations:
    """What the store's schema holds now (``Relations``)."""
    with datastore.transaction(commit=False) as curs:
        curs.execute(_FOUND, (datastore.schema,))
        if not curs.fetchone()["found"]:
            return None
        curs.execute(_RELATIONS, (datastore.schema,))
        return frozenset((row["relname"], row["relkind"]) for row in curs.fetchall())


def drop_created(datastore: Any, before: Relations) -> None:
    """Drop what the store's schema holds that it did not hold ``before``: the schema
    itself when there was none, else each new table (with its indexes and sequences)
    and type."""
    schema = Identifier(datastore.schema)
    with datastore.transaction(commit=True) as curs:
        if before is None:
            curs.execute(SQL("DROP SCHEMA IF EXISTS {0} CASCADE").format(schema))
            return
        curs.execute(_RELATIONS, (datastore.schema,))
        new = {(row["relname"], row["relkind"]) for row in curs.fetchall()} - before
        for name, kind in sorted(new, key=lambda relation: relation[1] != "r"):  # tables first
            what = "TABLE" if kind == "r" else "TYPE"
            statement = SQL(f"DROP {what} IF EXISTS {{0}}.{{1}} CASCADE")
            curs.execute(statement.format(schema, Identifier(name)))
