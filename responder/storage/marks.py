"""Recording what staff mail clients did to a ticket's messages: answered, marked done."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from responder.models import MailMark
from responder.storage import schema

# The ticket event each mark becomes; "done" also resolves the ticket (issue 5).
MARK_EVENTS = {"answered": "answered", "done": "done"}


async def record_marks(
    conn: AsyncConnection, channel: str, marks: Sequence[MailMark], now: datetime
) -> set[int]:
    """Turn marks on a ticket's messages into ticket events, once per ticket and kind while
    it stays in that state; returns the tickets that changed."""
    th, t, ev = schema.thread_ids, schema.tickets, schema.ticket_events
    wanted = {m.message_id for m in marks if m.kind in MARK_EVENTS}
    if not wanted:
        return set()
    rows = await conn.execute(
        select(th.c.message_id, t.c.id, t.c.status)
        .join(t, t.c.id == th.c.ticket_id)
        .where(th.c.message_id.in_(wanted), t.c.channel == channel)
    )
    tickets = {row.message_id: (row.id, row.status) for row in rows}
    if not tickets:
        return set()
    ids = {ticket_id for ticket_id, _ in tickets.values()}
    seen = await conn.execute(
        select(ev.c.ticket_id, ev.c.kind).where(
            ev.c.ticket_id.in_(ids), ev.c.kind.in_(list(MARK_EVENTS.values()))
        )
    )
    recorded = {(row.ticket_id, row.kind) for row in seen}
    touched: set[int] = set()
    events = []
    for mark in sorted(marks, key=lambda m: m.seen_at):
        found = tickets.get(mark.message_id)
        kind = MARK_EVENTS.get(mark.kind)
        if found is None or kind is None:
            continue
        ticket_id, status = found
        # "done" counts whenever the ticket is open (staff may have reopened it since);
        # "answered" once: only the first response stops a clock.
        if status != "open" if kind == "done" else (ticket_id, kind) in recorded:
            continue
        recorded.add((ticket_id, kind))
        touched.add(ticket_id)
        events.append(
            {
                "ticket_id": ticket_id,
                "inbound_id": None,
                "kind": kind,
                "actor": "mail client",
                "detail": mark.message_id[:400],
                "created_at": min(mark.seen_at, now),
            }
        )
        if kind == "done":
            for message_id, (other, _) in list(tickets.items()):
                if other == ticket_id:
                    tickets[message_id] = (other, "resolved")
            await conn.execute(
                update(t)
                .where(t.c.id == ticket_id)
                .values(status="resolved", resolved_at=now, updated_at=now)
            )
    if events:
        await conn.execute(ev.insert(), events)
    return touched
