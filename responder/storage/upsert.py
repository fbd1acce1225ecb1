"""Inserts that stay correct when several daemons share one database (issue 19): a row another
connection recorded first is skipped or updated in the same statement, never an IntegrityError."""

from __future__ import annotations

from collections.abc import Sequence
from functools import cache

from sqlalchemy import Connection, Table
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.sql.dml import Insert

from responder.errors import StorageError

# Why not select, then insert what was missing: between the two another daemon (or `responder
# simulate`, a CLI command) can record the same provider id; under PostgreSQL's READ COMMITTED
# and SQLite's deferred write lock alike, the second INSERT then fails on the unique key. ON
# CONFLICT (SQLite 3.24+, PostgreSQL 9.5+) decides in the statement itself: PostgreSQL waits
# for the other transaction and skips or updates its row, SQLite holds the one write lock.


def insert_or_ignore(conn: Connection, table: Table, keys: Sequence[str] = ()) -> Insert:
    """INSERT ... ON CONFLICT (keys) DO NOTHING; with no keys, on any unique conflict (the
    partial indexes of replies). RETURNING names only the rows it inserted."""
    return _ignore(_dialect(conn), table, tuple(keys))


def insert_or_update(
    conn: Connection, table: Table, keys: Sequence[str], columns: Sequence[str]
) -> Insert:
    """INSERT ... ON CONFLICT (keys) DO UPDATE SET each of `columns` to the value offered:
    the last writer's row, whoever inserted it first."""
    return _update(_dialect(conn), table, tuple(keys), tuple(columns))


def _dialect(conn: Connection) -> str:
    name = conn.dialect.name
    if name not in ("sqlite", "postgresql"):
        raise StorageError(f"responder keeps its data in SQLite or PostgreSQL, not {name}")
    return name


# Built once per table and dialect: SQLAlchemy's statement cache keys on the construct, and a
# statement built per call costs more than the INSERT itself (issue 15). Values always go as
# parameters, never .values(), so no message's bytes stay in a cached statement.
@cache
def _ignore(dialect: str, table: Table, keys: tuple[str, ...]) -> Insert:
    elements = list(keys) or None
    if dialect == "sqlite":
        return sqlite.insert(table).on_conflict_do_nothing(index_elements=elements)
    return postgresql.insert(table).on_conflict_do_nothing(index_elements=elements)


@cache
def _update(dialect: str, table: Table, keys: tuple[str, ...], columns: tuple[str, ...]) -> Insert:
    if dialect == "sqlite":
        lite = sqlite.insert(table)
        return lite.on_conflict_do_update(
            index_elements=list(keys), set_={c: lite.excluded[c] for c in columns}
        )
    pg = postgresql.insert(table)
    return pg.on_conflict_do_update(
        index_elements=list(keys), set_={c: pg.excluded[c] for c in columns}
    )
