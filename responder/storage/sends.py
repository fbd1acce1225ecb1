"""Queueing notices that no inbound message decided (SLA alerts, survey notices) in one go."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncConnection

from responder.domain.records import NewReply
from responder.storage import schema
from responder.storage.decisions import Queued


@dataclass(frozen=True)
class Send:
    """One reply row to queue: filed under the ticket's first message (replies need one)."""

    inbound_id: int
    channel: str
    ticket_id: int | None
    reply: NewReply


async def queue_sends(conn: AsyncConnection, sends: Sequence[Send], now: datetime) -> list[Queued]:
    """Insert the rows as pending, set-based: one statement, not one per notice (each
    statement is a trip to the database thread)."""
    if not sends:
        return []
    r = schema.replies
    rows = await conn.execute(
        r.insert().returning(r.c.id, sort_by_parameter_order=True),
        [
            {
                **send.reply.__dict__,
                "inbound_id": send.inbound_id,
                "channel": send.channel,
                "ticket_id": send.ticket_id,
                "state": "pending",
                "attempts": 0,
                "created_at": now,
            }
            for send in sends
        ],
    )
    return [
        Queued(row.id, send.inbound_id, send.channel, send.reply)
        for send, row in zip(sends, rows, strict=True)
    ]
