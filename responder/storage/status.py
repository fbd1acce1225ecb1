"""Cheap counts for a one-line status (systemd's STATUS=), read through the Store."""

from __future__ import annotations

from sqlalchemy import func, select

from responder.storage import schema
from responder.storage.store import Store


async def open_tickets(store: Store) -> int:
    """How many tickets are open: one COUNT, no rows loaded."""
    t = schema.tickets
    async with store.transaction() as conn:
        count = (
            await conn.execute(select(func.count()).select_from(t).where(t.c.status == "open"))
        ).scalar()
    return int(count or 0)
