"""Reply rows on their way out: queued, read for sending, and each try's outcome."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime

from sqlalchemy import Connection, bindparam, select, update

from responder.domain.models import Delivered
from responder.domain.records import Queued, ReplyMark, ReplyRow, Send, reply_row
from responder.storage import schema
from responder.storage.bulk import insert_ids
from responder.storage.upsert import insert_or_ignore, insert_or_update


def queue(
    conn: Connection, sends: Sequence[Send], now: datetime, owner: str | None
) -> list[Queued]:
    """Insert notices no inbound message decided as pending, `owner`'s to send, set-based:
    one statement, not one per notice."""
    if not sends:
        return []
    r = schema.replies
    ids = insert_ids(
        conn,
        r,
        "message_id",
        [
            {
                **send.reply.__dict__,
                "inbound_id": send.inbound_id,
                "channel": send.channel,
                "ticket_id": send.ticket_id,
                "state": "pending",
                "attempts": 0,
                "created_at": now,
                "owner": owner,
            }
            for send in sends
        ],
    )
    return [
        Queued(reply_id, send.inbound_id, send.channel, send.reply)
        for send, reply_id in zip(sends, ids, strict=True)
    ]


def unsent(conn: Connection) -> list[ReplyRow]:
    r = schema.replies
    rows = conn.execute(select(r).where(r.c.state == "pending").order_by(r.c.id))
    return [reply_row(row) for row in rows]


def facts(conn: Connection, ids: Sequence[int] | None) -> dict[int, tuple[str, datetime]]:
    """Kind and creation time of the replies `ids`, or of every pending reply: what the
    outbox dates expiry and giving up from."""
    r = schema.replies
    query = select(r.c.id, r.c.kind, r.c.created_at)
    if ids is None:
        query = query.where(r.c.state == "pending")
    else:
        query = query.where(r.c.id.in_(list(ids)))
    return {row.id: (row.kind, row.created_at) for row in conn.execute(query)}


# Built once: a statement built per call costs more in SQLAlchemy than the UPDATE costs in
# SQLite, and every reply sent is marked (issue 15's burst).
_MARK = (
    update(schema.replies)
    .where(schema.replies.c.id == bindparam("b_id"))
    .values(
        state=bindparam("b_state"),
        attempts=bindparam("b_attempts"),
        last_error=bindparam("b_error"),
        next_attempt_at=bindparam("b_next"),
        sent_at=bindparam("b_sent"),
    )
)


def mark(conn: Connection, marks: Sequence[ReplyMark]) -> None:
    """Record the outcome of several tries, in order."""
    if not marks:
        return
    conn.execute(
        _MARK,
        [
            {
                "b_id": m.reply_id,
                "b_state": m.state,
                "b_attempts": m.attempts,
                "b_error": m.last_error,
                "b_next": m.next_attempt_at,
                "b_sent": m.sent_at,
            }
            for m in marks
        ],
    )
    delivered = [(m.reply_id, m.delivered) for m in marks if m.delivered is not None]
    if delivered:
        _record_delivered(conn, delivered)


def _record_delivered(conn: Connection, delivered: list[tuple[int, Delivered]]) -> None:
    """The ids Telegram gave what we sent: a staff member's reply to a post finds its ticket."""
    r = schema.replies
    conn.execute(
        update(r)
        .where(r.c.id == bindparam("b_id"))
        .values(external_id=bindparam("b_external"), thread=bindparam("b_thread")),
        [
            {
                "b_id": reply_id,
                "b_external": d.message_ids[0] if d.message_ids else None,
                "b_thread": d.thread,
            }
            for reply_id, d in delivered
        ],
    )
    posts = [
        {"channel": d.channel, "chat": d.chat, "message_id": m, "reply_id": reply_id}
        for reply_id, d in delivered
        for m in d.message_ids
    ]
    if posts:
        # A report of the same send may already have been recorded (a repeat after a crash).
        conn.execute(insert_or_ignore(conn, schema.posts), posts)


def mark_blocked(conn: Connection, channel: str, recipients: Iterable[str], now: datetime) -> None:
    """The recipients refused our messages (Telegram 403) as of now."""
    rows = [{"channel": channel, "recipient": r, "since": now} for r in dict.fromkeys(recipients)]
    if rows:
        stmt = insert_or_update(conn, schema.blocked, ("channel", "recipient"), ("since",))
        conn.execute(stmt, rows)


def topics(conn: Connection, ticket_ids: Sequence[int]) -> dict[int, int]:
    """The forum topic each ticket's posts went into, in its own staff group."""
    r = schema.replies
    if not ticket_ids:
        return {}
    rows = conn.execute(
        select(r.c.ticket_id, r.c.thread).where(
            r.c.ticket_id.in_(list(ticket_ids)), r.c.thread.is_not(None)
        )
    )
    return {row.ticket_id: int(row.thread) for row in rows if str(row.thread).isdigit()}
