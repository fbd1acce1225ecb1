"""Small facts about the database itself, kept in the meta table."""

from __future__ import annotations

import hashlib
from datetime import datetime

from sqlalchemy import Connection, select

from responder.storage import schema
from responder.storage.upsert import insert_or_ignore, insert_or_update


def get_meta(conn: Connection, key: str) -> str | None:
    m = schema.meta
    return (conn.execute(select(m.c.value).where(m.c.key == key))).scalar()


def set_meta(conn: Connection, key: str, value: str) -> None:
    conn.execute(insert_or_update(conn, schema.meta, ("key",), ("value",)), _row(key, value))


def keep_first(conn: Connection, key: str, value: str) -> tuple[str, bool]:
    """The value under `key`, and whether it is `value`, kept now: else the one kept first
    (by whichever daemon on this database came first, issue 19)."""
    m = schema.meta
    stmt = insert_or_ignore(conn, m, ("key",)).returning(m.c.key)
    if conn.execute(stmt, _row(key, value)).first() is not None:
        return value, True
    kept = get_meta(conn, key)
    return (value, True) if kept is None else (kept, False)


def _row(key: str, value: str) -> dict[str, str]:
    return {"key": key, "value": value}


def first_start(conn: Connection, key: str, now: datetime) -> tuple[datetime, bool]:
    """When intake under `key` (a channel, or "channel/folder") was first started: `now` if
    this is that first time (then recorded, and True), else the recorded time (and False)."""
    name = f"started:{key}"
    if len(name) > 64:  # the column's width; a long folder name is kept apart by its digest
        name = "started:" + hashlib.sha256(key.encode()).hexdigest()[:48]
    value, first = keep_first(conn, name, now.isoformat())
    return datetime.fromisoformat(value), first


def kept_secret(conn: Connection, key: str, new: str) -> str:
    """The secret kept under `key`; `new` is kept and returned if there is none yet (the
    first start), so what it signs stays valid across restarts."""
    return keep_first(conn, key, new)[0]
