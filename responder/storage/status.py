"""Cheap counts for a one-line status (systemd's STATUS=), read through the Store."""

from __future__ import annotations

from sqlalchemy import Connection, func, select

from responder.storage import schema
from responder.storage.store import Store


async def open_tickets(store: Store) -> int:
    """How many tickets are open: one COUNT, no rows loaded."""
    return await store.run(_count_open)


def _count_open(conn: Connection) -> int:
    t = schema.tickets
    count = conn.execute(select(func.count()).select_from(t).where(t.c.status == "open")).scalar()
    return int(count or 0)
