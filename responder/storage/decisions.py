"""Reading what deciding a batch needs, and writing a batch's decisions, each in one go."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import bindparam, func, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from responder.decide import OUT_OF_HOURS, Acknowledge, Decision, FollowUp, Record, Suppress, View
from responder.storage import schema
from responder.storage.records import NewReply, NewTicket


@dataclass(frozen=True)
class Outcome:
    """One decided message, ready to be recorded."""

    inbound_id: int
    channel: str
    sender: str | None
    subject: str
    message_ids: tuple[str, ...]  # the message's own ids, joined to its ticket's thread
    decision: Decision
    ticket: NewTicket | None = None  # with Acknowledge and Record
    reply: NewReply | None = None  # with Acknowledge
    notices: tuple[NewReply, ...] = ()  # to staff, when a rule says notify_staff
    period: str | None = None  # the closed period an out-of-hours reply was sent in


@dataclass(frozen=True)
class Queued:
    """A reply or notice recorded as pending, ready for the outbox."""

    reply_id: int
    inbound_id: int
    channel: str
    reply: NewReply


async def load_view(
    conn: AsyncConnection,
    message_ids: Iterable[str],
    refs: Iterable[str],
    targets: Iterable[str],
    since: datetime,
    periods: Iterable[str] = (),
) -> View:
    t, th, r = schema.tickets, schema.thread_ids, schema.replies
    view = View()
    if ids := list(message_ids):
        rows = await conn.execute(
            select(th.c.message_id, t.c.ref)
            .join(t, t.c.id == th.c.ticket_id)
            .where(th.c.message_id.in_(ids))
        )
        view.ref_by_message_id = {row.message_id: row.ref for row in rows}
    if wanted := list(refs):
        rows = await conn.execute(select(t.c.ref).where(t.c.ref.in_(wanted)))
        view.existing_refs = {row.ref for row in rows}
    if recipients := list(targets):
        rows = await conn.execute(
            select(r.c.recipient, func.count().label("n"))
            .where(r.c.recipient.in_(recipients), r.c.created_at >= since, r.c.state != "parked")
            .group_by(r.c.recipient)
        )
        view.recent_replies = {row.recipient: int(row.n) for row in rows}
    if recipients and (closed := list(periods)):
        rows = await conn.execute(
            select(r.c.recipient, r.c.period).where(
                r.c.kind == OUT_OF_HOURS,
                r.c.recipient.in_(recipients),
                r.c.period.in_(closed),
                r.c.state != "parked",
            )
        )
        view.closed_replies = {(row.recipient, row.period) for row in rows}
    return view


async def apply_outcomes(
    conn: AsyncConnection, outcomes: Sequence[Outcome], now: datetime
) -> list[Queued]:
    """Record a batch of decisions; returns the replies and notices to send, in order.

    A handful of multi-row statements per batch rather than several per message: each
    statement is a trip to the database thread, and those trips dominated the per-message
    cost of a backlog.
    """
    t, r, inbound = schema.tickets, schema.replies, schema.inbound
    ticket_ids = await _ticket_ids(
        conn, {o.decision.ref for o in outcomes if isinstance(o.decision, FollowUp)}
    )
    opened = [o for o in outcomes if isinstance(o.decision, Acknowledge | Record)]
    if opened:
        rows = await conn.execute(
            t.insert().returning(t.c.id, sort_by_parameter_order=True),
            [
                {
                    **o.ticket.__dict__,
                    **_rule_columns(o.decision),
                    "status": "open",
                    "created_at": now,
                    "updated_at": now,
                }
                for o in opened
                if o.ticket is not None
            ],
        )
        for o, row in zip(opened, rows, strict=True):
            ticket_ids[_ref(o)] = row.id
    # The customer's reply first, then any notices to staff, each a row the outbox sends.
    sends = [
        (o, reply, o.period if reply is o.reply else None)
        for o in outcomes
        for reply in ((o.reply,) if o.reply else ()) + o.notices
    ]
    queued: list[Queued] = []
    if sends:
        rows = await conn.execute(
            r.insert().returning(r.c.id, sort_by_parameter_order=True),
            [
                {
                    **reply.__dict__,
                    "inbound_id": o.inbound_id,
                    "channel": o.channel,
                    "ticket_id": ticket_ids[_ref(o)],
                    "state": "pending",
                    "attempts": 0,
                    "period": period,
                    "created_at": now,
                }
                for o, reply, period in sends
            ],
        )
        queued = [
            Queued(row.id, o.inbound_id, o.channel, reply)
            for (o, reply, _), row in zip(sends, rows, strict=True)
        ]
    suppressed = [o for o in outcomes if isinstance(o.decision, Suppress)]
    if suppressed:
        await conn.execute(
            schema.suppressions.insert(),
            [
                {
                    "inbound_id": o.inbound_id,
                    "channel": o.channel,
                    "rule": o.decision.rule,
                    "reason": o.decision.reason,
                    "sender": _short(o.sender),
                    "created_at": now,
                }
                for o in suppressed
                if isinstance(o.decision, Suppress)
            ],
        )
    await _join_threads(conn, outcomes, ticket_ids)
    followed = {ticket_ids[_ref(o)] for o in outcomes if isinstance(o.decision, FollowUp)}
    if followed:
        await conn.execute(update(t).where(t.c.id.in_(followed)).values(updated_at=now))
    await conn.execute(
        update(inbound)
        .where(inbound.c.id == bindparam("b_id"))
        .values(
            state="done",
            outcome=bindparam("b_outcome"),
            ticket_id=bindparam("b_ticket"),
            sender=bindparam("b_sender"),
            subject=bindparam("b_subject"),
        ),
        [
            {
                "b_id": o.inbound_id,
                "b_outcome": outcome_word(o.decision),
                "b_ticket": None if isinstance(o.decision, Suppress) else ticket_ids[_ref(o)],
                "b_sender": _short(o.sender),
                "b_subject": o.subject[:400],
            }
            for o in outcomes
        ],
    )
    return queued


async def _ticket_ids(conn: AsyncConnection, refs: set[str]) -> dict[str, int]:
    if not refs:
        return {}
    t = schema.tickets
    rows = await conn.execute(select(t.c.ref, t.c.id).where(t.c.ref.in_(refs)))
    return {row.ref: row.id for row in rows}


async def _join_threads(
    conn: AsyncConnection,
    outcomes: Sequence[Outcome],
    ticket_ids: dict[str, int],
) -> None:
    """Every id of a ticket's messages, theirs and ours, so a later reply names the ticket."""
    th = schema.thread_ids
    wanted: dict[str, int] = {}
    for o in outcomes:
        if isinstance(o.decision, Suppress):
            continue
        ids = list(o.message_ids)
        if o.reply is not None:
            ids.append(o.reply.message_id)
        for message_id in ids:
            wanted.setdefault(message_id, ticket_ids[_ref(o)])
    if not wanted:
        return
    rows = await conn.execute(select(th.c.message_id).where(th.c.message_id.in_(list(wanted))))
    for row in rows:
        wanted.pop(row.message_id, None)
    if wanted:
        await conn.execute(
            th.insert(), [{"message_id": m, "ticket_id": tid} for m, tid in wanted.items()]
        )


def _short(address: str | None) -> str | None:
    # The column holds 320 characters (RFC 3696's longest address); a longer From is junk
    # that must not fail the batch on a database that enforces lengths.
    return address[:320] if address else address


def _ref(outcome: Outcome) -> str:
    decision = outcome.decision
    assert not isinstance(decision, Suppress)
    return decision.ref


def _rule_columns(decision: Decision) -> dict[str, str | None]:
    assert isinstance(decision, Acknowledge | Record)
    action = decision.action
    return {
        "rule": decision.rule,
        "priority": action.priority,
        "tags": ",".join(action.tags) or None,
        "sla_policy": action.sla,
    }


def outcome_word(decision: Decision) -> str:
    if isinstance(decision, Suppress):
        return "suppressed"
    if isinstance(decision, Record):
        return "recorded"
    return "follow-up" if isinstance(decision, FollowUp) else "replied"
