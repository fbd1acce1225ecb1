"""Small facts about the database itself, kept in the meta table."""

from __future__ import annotations

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
