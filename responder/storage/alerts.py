"""Recording fired SLA timers: the timer marked done and its alerts queued, in one step."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import update
from sqlalchemy.ext.asyncio import AsyncConnection

from responder.storage import schema
from responder.storage.decisions import Queued
from responder.storage.records import NewEvent, NewReply


@dataclass(frozen=True)
class Firing:
    """A due timer and what it sends; recorded only if the timer is still pending."""

    timer_id: int
    inbound_id: int
    sends: Sequence[tuple[str, int | None, NewReply]]  # (channel, ticket id or None, reply)
    event: NewEvent | None = None
    ticket_id: int | None = None


async def record_fired(
    conn: AsyncConnection, firings: Sequence[Firing], skipped: Sequence[int], now: datetime
) -> list[Queued]:
    """Mark timers done (or skipped) and record what they send, each only if still pending:
    a timer re-planned or fired since it was read sends nothing (idempotent)."""
    tm, r = schema.timers, schema.replies
    if skipped:
        await conn.execute(
            update(tm)
            .where(tm.c.id.in_(list(skipped)), tm.c.state == "pending")
            .values(state="skipped", fired_at=now, updated_at=now)
        )
    queued: list[Queued] = []
    for firing in firings:
        result = await conn.execute(
            update(tm)
            .where(tm.c.id == firing.timer_id, tm.c.state == "pending")
            .values(state="done", fired_at=now, updated_at=now)
        )
        if result.rowcount != 1:
            continue
        if firing.event is not None and firing.ticket_id is not None:
            await conn.execute(
                schema.ticket_events.insert().values(
                    ticket_id=firing.ticket_id,
                    inbound_id=None,
                    kind=firing.event.kind,
                    actor=firing.event.actor,
                    detail=firing.event.detail,
                    created_at=now,
                )
            )
        for channel, ticket_id, reply in firing.sends:
            row = await conn.execute(
                r.insert().returning(r.c.id),
                [
                    {
                        **reply.__dict__,
                        "inbound_id": firing.inbound_id,
                        "channel": channel,
                        "ticket_id": ticket_id,
                        "state": "pending",
                        "attempts": 0,
                        "created_at": now,
                    }
                ],
            )
            queued.append(Queued(row.scalar_one(), firing.inbound_id, channel, reply))
    return queued
