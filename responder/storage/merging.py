"""Writing /merge (issue 18): a duplicate's rows become its older ticket's, in the batch's
one transaction, so a crash leaves either both tickets as they were or the merge whole."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import Connection, select, update

from responder.core.outcome import Outcome
from responder.domain.records import MERGED, NewEvent, TicketMerge
from responder.storage import schema

# The duplicate's rows that follow it to its ticket: what the customer wrote (history,
# export, `responder contact`), the ids later mail threads on, our replies and the posts
# they went out as in the staff group (a staff answer to the duplicate's post), its events.
MOVED = (schema.inbound, schema.thread_ids, schema.replies, schema.ticket_events)
# A survey that has not gone yet is dropped: one survey, the target's, at the end.
DROPPED = "merged into another ticket: its survey goes instead"


def apply_merges(conn: Connection, outcomes: Sequence[Outcome], now: datetime) -> set[int]:
    """Carry out each outcome's merge; returns both tickets of each, to be re-planned (the
    duplicate's timers stop, the target's SLA clock counts from the earliest message)."""
    touched: set[int] = set()
    for o in outcomes:
        if o.merge is not None:
            touched |= _merge(conn, o.merge, o.inbound_id, now)
    return touched


def _merge(conn: Connection, merge: TicketMerge, inbound_id: int, now: datetime) -> set[int]:
    t = schema.tickets
    rows = conn.execute(
        select(t.c.id, t.c.ref, t.c.status).where(t.c.ref.in_([merge.duplicate, merge.target]))
    )
    found = {row.ref: row for row in rows}
    dup, target = found.get(merge.duplicate), found.get(merge.target)
    if dup is None or target is None or MERGED in (dup.status, target.status):
        return set()  # decided against a view this batch has since changed: nothing to do
    for table in MOVED:
        conn.execute(update(table).where(table.c.ticket_id == dup.id).values(ticket_id=target.id))
    tm, s = schema.timers, schema.surveys
    conn.execute(
        update(tm)
        .where(tm.c.ticket_id == dup.id, tm.c.state.in_(("pending", "paused")))
        .values(state="stopped", due_at=None, updated_at=now)
    )
    conn.execute(
        update(s)
        .where(s.c.ticket_id == dup.id, s.c.state == "planned")
        .values(state="cancelled", due_at=None, reason=DROPPED, updated_at=now)
    )
    conn.execute(
        update(t)
        .where(t.c.id == dup.id)
        .values(status=MERGED, merged_into=target.id, updated_at=now)
    )
    values: dict[str, object] = {"updated_at": now}
    if merge.reopen:
        values.update(status="open", resolved_at=None)
    conn.execute(update(t).where(t.c.id == target.id).values(**values))
    events = [(dup.id, e) for e in merge.on_duplicate] + [(target.id, e) for e in merge.on_target]
    conn.execute(schema.ticket_events.insert(), [_event(i, e, inbound_id, now) for i, e in events])
    return {dup.id, target.id}


def _event(ticket_id: int, event: NewEvent, inbound_id: int, now: datetime) -> dict[str, object]:
    return {
        "ticket_id": ticket_id,
        "inbound_id": inbound_id,
        "kind": event.kind,
        "actor": event.actor,
        "detail": event.detail,
        # The duplicate's first message keeps its own time: the SLA clock counts from it.
        "created_at": event.at or now,
    }
