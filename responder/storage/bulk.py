"""Multi-row INSERTs that stay one statement on every backend, ids matched back by key."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from sqlalchemy import Connection, Table
from sqlalchemy.sql.dml import Insert

from responder.storage.upsert import insert_or_ignore


def insert_ids(
    conn: Connection, table: Table, key: str | tuple[str, ...], rows: Sequence[Mapping[str, Any]]
) -> list[int]:
    """Insert `rows` and return their new ids in the order of `rows`.

    `key` names the column, or columns, unique among the rows (a UNIQUE constraint: tickets'
    ref, replies' Message-ID, a timer's ticket, clock and stage). RETURNING promises no row
    order (SQLite's documentation says so), and SQLAlchemy's `sort_by_parameter_order` makes
    SQLite fall back to one INSERT per row (its "insertmanyvalues" notes): matching by key
    keeps the batch one statement (issue 15).
    """
    names = (key,) if isinstance(key, str) else key
    ids = _returned(conn, table.insert(), table, names, rows)
    return [ids[tuple(row[n] for n in names)] for row in rows]


def insert_new(
    conn: Connection, table: Table, key: str | tuple[str, ...], rows: Sequence[Mapping[str, Any]]
) -> list[int | None]:
    """Insert the `rows` whose `key` is not recorded yet (by anyone: another daemon on the
    same database too, issue 19); the new ids in the order of `rows`, None for a row that was
    there already. Still one statement for the batch."""
    names = (key,) if isinstance(key, str) else key
    ids = _returned(conn, insert_or_ignore(conn, table, names), table, names, rows)
    return [ids.get(tuple(row[n] for n in names)) for row in rows]


def _returned(
    conn: Connection,
    stmt: Insert,
    table: Table,
    names: tuple[str, ...],
    rows: Sequence[Mapping[str, Any]],
) -> dict[tuple[Any, ...], int]:
    if not rows:
        return {}
    returning = stmt.returning(table.c.id, *(table.c[n] for n in names))
    return {tuple(row[1:]): row[0] for row in conn.execute(returning, rows)}
