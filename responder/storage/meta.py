"""Small facts about the database itself, kept in the meta table."""

from __future__ import annotations

import hashlib
from datetime import datetime

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from responder.storage import schema


async def get_meta(conn: AsyncConnection, key: str) -> str | None:
    m = schema.meta
    return (await conn.execute(select(m.c.value).where(m.c.key == key))).scalar()


async def set_meta(conn: AsyncConnection, key: str, value: str) -> None:
    m = schema.meta
    result = await conn.execute(update(m).where(m.c.key == key).values(value=value))
    if result.rowcount == 0:
        await conn.execute(m.insert().values(key=key, value=value))


async def first_start(conn: AsyncConnection, key: str, now: datetime) -> tuple[datetime, bool]:
    """When intake under `key` (a channel, or "channel/folder") was first started: `now` if
    this is that first time (then recorded, and True), else the recorded time (and False)."""
    name = f"started:{key}"
    if len(name) > 64:  # the column's width; a long folder name is kept apart by its digest
        name = "started:" + hashlib.sha256(key.encode()).hexdigest()[:48]
    value = await get_meta(conn, name)
    if value is not None:
        return datetime.fromisoformat(value), False
    await set_meta(conn, name, now.isoformat())
    return now, True
