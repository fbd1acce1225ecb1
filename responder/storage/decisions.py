"""Writing a batch's decisions in one go: tickets, replies, events, suppressions."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import NamedTuple

from sqlalchemy import Connection, bindparam, delete, select, update

from responder.core.decisions import (
    Acknowledge,
    Decision,
    FollowUp,
    Record,
    StaffReply,
    Suppress,
    Welcome,
)
from responder.core.outcome import ON_A_TICKET, Outcome, outcome_word
from responder.domain.records import NewReply, Queued
from responder.storage import schema, survey_answers
from responder.storage.bulk import insert_ids
from responder.storage.contacts import record_contacts
from responder.storage.merging import apply_merges
from responder.storage.ticket_locks import claim_inbound, lock_tickets, overtaken, requeue
from responder.storage.upsert import insert_or_ignore


class Applied(NamedTuple):
    """What recording a batch's decisions did."""

    queued: list[Queued]  # the replies and notices to send, in order
    touched: set[int]  # the tickets the batch opened or changed
    # Messages put back to be decided again: their view was overtaken (ticket_locks.overtaken).
    again: set[int]


def apply_outcomes(
    conn: Connection, outcomes: Sequence[Outcome], now: datetime, owner: str | None
) -> Applied:
    """Record a batch of decisions. `owner` sends the replies (storage.claims).

    A handful of multi-row statements per batch rather than several per message: each
    statement is compiled and executed on its own, and those costs dominated the
    per-message cost of a backlog.
    """
    # Only the messages still undecided: another daemon on the same database may have
    # decided some since this batch read them (issue 19); theirs stand, these are dropped.
    claimed = claim_inbound(conn, [o.inbound_id for o in outcomes])
    outcomes = [o for o in outcomes if o.inbound_id in claimed]
    # Another daemon may have opened a ticket for a chat customer this batch opens one for,
    # deciding the customer's other message at the same moment (issue 19): those go back.
    again = overtaken(conn, outcomes)
    requeue(conn, again)
    outcomes = [o for o in outcomes if o.inbound_id not in again]
    if not outcomes:
        # A batch whose every message failed to be decided: an executemany with no rows has
        # no values for its bind parameters, and SQLAlchemy refuses it.
        return Applied([], set(), again)
    t, r, inbound = schema.tickets, schema.replies, schema.inbound
    ticket_ids = _ticket_ids(conn, _refs(outcomes))
    # Held to the commit: another daemon's decision on the same ticket waits for this one.
    lock_tickets(conn, set(ticket_ids.values()))
    opened = [o for o in outcomes if isinstance(o.decision, Acknowledge | Record)]
    if opened:
        new_tickets = [
            {
                **o.ticket.__dict__,
                **_rule_columns(o.decision),
                "status": "open",
                "created_at": now,
                "updated_at": now,
            }
            for o in opened
            if o.ticket is not None
        ]
        ids = insert_ids(conn, t, "ref", new_tickets)
        ticket_ids.update(zip([row["ref"] for row in new_tickets], ids, strict=True))
    # The customer's reply first, then any notices to staff, each a row the outbox sends.
    # A post in another channel's staff desk, or an answer from it, is that channel's to send.
    sends = [
        (o, reply, o.period if reply is o.reply else None, o.channel)
        for o in outcomes
        for reply in ((o.reply,) if o.reply else ()) + o.notices
    ] + [(o, reply, None, channel) for o in outcomes for channel, reply in o.elsewhere]
    queued: list[Queued] = []
    if sends:
        ids = insert_ids(
            conn,
            r,
            "message_id",
            [
                {
                    **reply.__dict__,
                    "inbound_id": o.inbound_id,
                    "channel": channel,
                    "ticket_id": _ticket_id(o, ticket_ids),
                    "state": "expired" if _unsent(o, reply) else "pending",
                    "last_error": _unsent(o, reply),
                    "attempts": 0,
                    "period": period,
                    "created_at": now,
                    "owner": owner,
                }
                for o, reply, period, channel in sends
            ],
        )
        queued = [
            Queued(reply_id, o.inbound_id, channel, reply)
            for (o, reply, _, channel), reply_id in zip(sends, ids, strict=True)
            if not _unsent(o, reply)
        ]
    suppressed = [o for o in outcomes if isinstance(o.decision, Suppress)]
    if suppressed:
        conn.execute(
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
    _join_threads(conn, outcomes, ticket_ids)
    record_contacts(conn, outcomes, now)
    followed = {
        ticket_ids[o.decision.ref]
        for o in outcomes
        if isinstance(o.decision, FollowUp | StaffReply) and o.status is None
    }
    if followed:
        conn.execute(update(t).where(t.c.id.in_(followed)).values(updated_at=now))
    _staff_actions(conn, outcomes, ticket_ids, now)
    answers = [o.survey for o in outcomes if o.survey is not None]
    if answers:
        survey_answers.record(conn, answers, now)
    conn.execute(
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
                "b_outcome": "survey-answer" if o.survey else outcome_word(o.decision),
                "b_ticket": _ticket_id(o, ticket_ids),
                "b_sender": _short(o.sender),
                "b_subject": o.subject[:400],
            }
            for o in outcomes
        ],
    )
    touched = {i for o in outcomes if (i := _ticket_id(o, ticket_ids)) is not None}
    # Last, so whatever this batch recorded on a duplicate goes with it (issue 18's /merge).
    touched |= apply_merges(conn, outcomes, now)
    return Applied(queued, touched, again)


def _unsent(o: Outcome, reply: NewReply) -> str | None:
    """Why the customer's reply is kept but not sent (its reply window has closed)."""
    return o.unsent if reply is o.reply else None


def _refs(outcomes: Sequence[Outcome]) -> set[str]:
    """The existing tickets the batch records decisions on, merges' both tickets too."""
    refs = {o.decision.ref for o in outcomes if isinstance(o.decision, ON_A_TICKET)}
    return refs | {ref for o in outcomes if o.merge for ref in (o.merge.duplicate, o.merge.target)}


def _ticket_ids(conn: Connection, refs: set[str]) -> dict[str, int]:
    if not refs:
        return {}
    t = schema.tickets
    rows = conn.execute(select(t.c.ref, t.c.id).where(t.c.ref.in_(refs)))
    return {row.ref: row.id for row in rows}


def _join_threads(
    conn: Connection,
    outcomes: Sequence[Outcome],
    ticket_ids: dict[str, int],
) -> None:
    """Every id of a ticket's messages, theirs and ours, so a later reply names the ticket."""
    th = schema.thread_ids
    wanted: dict[str, int] = {}
    for o in outcomes:
        ticket_id = _ticket_id(o, ticket_ids)
        if ticket_id is None or not o.message_ids:
            continue
        ids = list(o.message_ids)
        if o.reply is not None:
            ids.append(o.reply.message_id)
        for message_id in ids:
            wanted.setdefault(message_id, ticket_id)
    if wanted:
        # An id already in a thread keeps its ticket (the first to name it, this daemon or
        # another on the same database: issue 19).
        conn.execute(
            insert_or_ignore(conn, th, ("message_id",)),
            [{"message_id": m, "ticket_id": tid} for m, tid in wanted.items()],
        )


def _short(address: str | None) -> str | None:
    # The column holds 320 characters (RFC 3696's longest address); a longer From is junk
    # that must not fail the batch on a database that enforces lengths.
    return address[:320] if address else address


def _ref(outcome: Outcome) -> str | None:
    decision = outcome.decision
    return None if isinstance(decision, Suppress | Welcome) else decision.ref


def _ticket_id(outcome: Outcome, ticket_ids: dict[str, int]) -> int | None:
    ref = _ref(outcome)
    return None if ref is None else ticket_ids.get(ref)


def _staff_actions(
    conn: Connection, outcomes: Sequence[Outcome], ticket_ids: dict[str, int], now: datetime
) -> None:
    """Events, status changes, and customers back after blocking us."""
    t = schema.tickets
    events = [
        {
            "kind": event.kind,
            "actor": event.actor,
            "detail": event.detail,
            "ticket_id": ticket_ids[ref],
            "inbound_id": o.inbound_id,
            "created_at": _when(event.at, now),
        }
        for o in outcomes
        if (ref := _ref(o)) is not None
        for event in o.events
    ]
    if events:
        conn.execute(schema.ticket_events.insert(), events)
    for o in outcomes:
        if o.status is not None and (ticket_id := _ticket_id(o, ticket_ids)) is not None:
            resolved = now if o.status == "resolved" else None
            conn.execute(
                update(t)
                .where(t.c.id == ticket_id)
                .values(status=o.status, resolved_at=resolved, updated_at=now)
            )
    back = {(o.channel, o.returned) for o in outcomes if o.returned}
    for channel, recipient in back:
        b = schema.blocked
        conn.execute(delete(b).where(b.c.channel == channel, b.c.recipient == recipient))


# A message's own time (its INTERNALDATE) dates the event only when it is plausible: not in
# the future, and not so old that the server's clock or a copied old message is the reason.
MAX_EVENT_LAG = timedelta(days=7)


def _when(at: datetime | None, now: datetime) -> datetime:
    return at if at is not None and now - MAX_EVENT_LAG <= at <= now else now


def _rule_columns(decision: Decision) -> dict[str, str | None]:
    assert isinstance(decision, Acknowledge | Record)
    action = decision.action
    return {
        "rule": decision.rule,
        "priority": action.priority,
        "tags": ",".join(action.tags) or None,
        "sla_policy": action.sla,
    }
