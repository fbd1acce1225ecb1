"""Small facts about the database itself, kept in the meta table."""

from __future__ import annotations

import hashlib
from datetime import datetime

from sqlalchemy import Connection, select, update

from responder.storage import schema


def get_meta(conn: Connection, key: str) -> str | None:
    m = schema.meta
    return (conn.execute(select(m.c.value).where(m.c.key == key))).scalar()


def set_meta(conn: Connection, key: str, value: str) -> None:
    m = schema.meta
    result = conn.execute(update(m).where(m.c.key == key).values(value=value))
    if result.rowcount == 0:
        conn.execute(m.insert().values(key=key, value=value))


def first_start(conn: Connection, key: str, now: datetime) -> tuple[datetime, bool]:
    """When intake under `key` (a channel, or "channel/folder") was first started: `now` if
    this is that first time (then recorded, and True), else the recorded time (and False)."""
    name = f"started:{key}"
    if len(name) > 64:  # the column's width; a long folder name is kept apart by its digest
        name = "started:" + hashlib.sha256(key.encode()).hexdigest()[:48]
    value = get_meta(conn, name)
    if value is not None:
        return datetime.fromisoformat(value), False
    set_meta(conn, name, now.isoformat())
    return now, True


def kept_secret(conn: Connection, key: str, new: str) -> str:
    """The secret kept under `key`; `new` is kept and returned if there is none yet (the
    first start), so what it signs stays valid across restarts."""
    known = get_meta(conn, key)
    if known is not None:
        return known
    set_meta(conn, key, new)
    return new
