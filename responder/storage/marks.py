"""Recording what staff mail clients did to a ticket's messages: answered, marked done."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import Connection, and_, delete, select, update

from responder.domain.models import MailMark
from responder.storage import schema
from responder.storage.upsert import insert_or_ignore
from responder.wire.email.headers import parse_message_id

# The ticket event each mark becomes; "done" also resolves the ticket (issue 5).
MARK_EVENTS = {"answered": "answered", "done": "done"}


def record_marks(
    conn: Connection, channel: str, marks: Sequence[MailMark], now: datetime
) -> set[int]:
    """Turn marks on a ticket's messages into ticket events, once per ticket and kind while
    it stays in that state; returns the tickets that changed."""
    th, t, ev = schema.thread_ids, schema.tickets, schema.ticket_events
    # Thread ids are kept without angle brackets, as the mail parser reads them.
    marks = [
        MailMark(mid, m.kind, m.seen_at)
        for m in marks
        if m.kind in MARK_EVENTS and (mid := parse_message_id(m.message_id))
    ]
    wanted = {m.message_id for m in marks}
    if not wanted:
        return set()
    rows = conn.execute(
        select(th.c.message_id, t.c.id, t.c.status)
        .join(t, t.c.id == th.c.ticket_id)
        .where(th.c.message_id.in_(wanted), t.c.channel == channel)
    )
    tickets = {row.message_id: (row.id, row.status) for row in rows}
    _keep_early(conn, channel, [m for m in marks if m.message_id not in tickets])
    if not tickets:
        return set()
    ids = {ticket_id for ticket_id, _ in tickets.values()}
    seen = conn.execute(
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
            conn.execute(
                update(t)
                .where(t.c.id == ticket_id)
                .values(status="resolved", resolved_at=now, updated_at=now)
            )
    if events:
        conn.execute(ev.insert(), events)
    return touched


def _keep_early(conn: Connection, channel: str, marks: Sequence[MailMark]) -> None:
    """Marks on messages recorded but not yet decided wait for their ticket (a backlog after
    a restart is decided after the flags are read); marks on anything else are not ours."""
    inbound, early = schema.inbound, schema.early_marks
    wanted = {m.message_id for m in marks}
    if not wanted:
        return
    rows = conn.execute(
        select(inbound.c.external_id).where(
            inbound.c.channel == channel,
            inbound.c.external_id.in_(wanted),
            inbound.c.state == "new",
        )
    )
    undecided = {r.external_id for r in rows}
    new: dict[tuple[str, str], datetime] = {}
    for m in marks:
        if m.message_id in undecided:
            new.setdefault((m.message_id, m.kind), m.seen_at)
    if new:
        # A mark kept before (by this daemon or another, issue 19) keeps its first time.
        conn.execute(
            insert_or_ignore(conn, early, ("channel", "message_id", "kind")),
            [
                {"channel": channel, "message_id": mid, "kind": kind, "seen_at": at}
                for (mid, kind), at in new.items()
            ],
        )


def claim_early(conn: Connection, ticket_ids: set[int], now: datetime) -> set[int]:
    """Marks that arrived before these tickets opened, recorded now; returns the tickets."""
    th, t, early = schema.thread_ids, schema.tickets, schema.early_marks
    rows = list(
        conn.execute(
            select(early.c.channel, early.c.message_id, early.c.kind, early.c.seen_at)
            .join(th, th.c.message_id == early.c.message_id)
            .join(t, and_(t.c.id == th.c.ticket_id, t.c.channel == early.c.channel))
            .where(th.c.ticket_id.in_(list(ticket_ids)))
        )
    )
    touched: set[int] = set()
    for channel in {r.channel for r in rows}:
        mine = [MailMark(r.message_id, r.kind, r.seen_at) for r in rows if r.channel == channel]
        touched |= record_marks(conn, channel, mine, now)
        conn.execute(
            delete(early).where(
                early.c.channel == channel, early.c.message_id.in_([m.message_id for m in mine])
            )
        )
    return touched
