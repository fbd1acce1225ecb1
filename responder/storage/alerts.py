"""Recording fired SLA timers: the timer marked done and its alerts queued, in one step."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from datetime import datetime, timedelta

from sqlalchemy import Connection, update

from responder.domain.records import Queued, Send
from responder.domain.timers import Firing
from responder.storage import schema
from responder.storage.replies import queue

# A timer read as due (within the services' 10 ms slack) is still due when it is recorded,
# unless it was re-planned meanwhile: staff asked the customer something on another instance,
# and the close timer moved to Monday (issue 19). Then it neither fires nor is skipped.
FIRE_SLACK = timedelta(seconds=1)


def record_fired(
    conn: Connection,
    firings: Sequence[Firing],
    skipped: Sequence[int],
    now: datetime,
    owner: str | None,
    done_ids: set[int] | None = None,
) -> list[Queued]:
    """Mark timers done (or skipped) and record what they send, `owner`'s to send, each only
    if still pending: a timer re-planned or fired since it was read sends nothing
    (idempotent), and of two instances firing one timer at once, only the one whose UPDATE
    changed the row sends (the row is re-checked as it is written: PostgreSQL re-reads it
    under READ COMMITTED, SQLite has one writer). The ids of the timers this call marked done
    are added to `done_ids` when given."""
    tm = schema.timers
    still_due = (tm.c.state == "pending", tm.c.due_at <= now + FIRE_SLACK)
    if skipped:
        conn.execute(
            update(tm)
            .where(tm.c.id.in_(list(skipped)), *still_due)
            .values(state="skipped", fired_at=now, updated_at=now)
        )
    if not firings:
        return []
    # Set-based: one statement per kind of row, not per alert (a burst of thousands of due
    # timers must not hold the database thread, and intake behind it, for long).
    done = conn.execute(
        update(tm)
        .where(tm.c.id.in_([f.timer_id for f in firings]), *still_due)
        .values(state="done", fired_at=now, updated_at=now)
        .returning(tm.c.id)
    )
    fired = {row.id for row in done}
    if done_ids is not None:
        done_ids |= fired
    going = [f for f in firings if f.timer_id in fired]
    events = [
        {
            "ticket_id": f.ticket_id,
            "inbound_id": None,
            "kind": f.event.kind,
            "actor": f.event.actor,
            "detail": f.event.detail,
            "created_at": now,
        }
        for f in going
        if f.event is not None and f.ticket_id is not None
    ]
    if events:
        conn.execute(schema.ticket_events.insert(), events)
    sends = [
        Send(f.inbound_id, channel, ticket_id, replace(reply, sla_timer_id=f.timer_id))
        for f in going
        for channel, ticket_id, reply in f.sends
    ]
    return queue(conn, sends, now, owner)
