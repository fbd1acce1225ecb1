"""Multi-row INSERTs that stay one statement on every backend, ids matched back by key."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from sqlalchemy import Connection, Table


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
    if not rows:
        return []
    names = (key,) if isinstance(key, str) else key
    returning = table.insert().returning(table.c.id, *(table.c[n] for n in names))
    ids = {tuple(row[1:]): row[0] for row in conn.execute(returning, rows)}
    return [ids[tuple(row[n] for n in names)] for row in rows]
