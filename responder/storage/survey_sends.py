"""Surveys that fell due, with what their message needs, and recording them as sent."""

from __future__ import annotations

from collections.abc import Collection, Iterable, Sequence
from datetime import datetime

from sqlalchemy import Connection, func, select, update

from responder.core.reply_kinds import CUSTOMER_OUTCOMES
from responder.domain.csat import DueSurvey, SentSurvey
from responder.domain.records import Queued
from responder.storage import schema
from responder.storage.alerts import FIRE_SLACK
from responder.storage.upsert import insert_or_ignore


def due(
    conn: Connection, ticket_ids: Iterable[int], now: datetime, windowed: Collection[str] = ()
) -> list[DueSurvey]:
    """The tickets' planned surveys due by `now`; on the `windowed` channels, with the
    customer's latest message there (whichever ticket it joined)."""
    s, t, i, b = schema.surveys, schema.tickets, schema.inbound, schema.blocked
    ids = list(ticket_ids)
    if not ids:
        return []
    first = (
        select(func.min(i.c.id))
        .where(i.c.ticket_id == t.c.id)
        .correlate(t)
        .scalar_subquery()
        .label("first_inbound")
    )
    rows = conn.execute(
        select(
            s.c.id,
            s.c.ticket_id,
            s.c.channel,
            s.c.recipient,
            t.c.ref,
            t.c.customer_name,
            t.c.subject,
            t.c.language,
            first,
        )
        .join(t, t.c.id == s.c.ticket_id)
        .where(s.c.ticket_id.in_(ids), s.c.state == "planned", s.c.due_at <= now)
        .order_by(s.c.due_at, s.c.id)
    )
    found = list(rows)
    raws: dict[int, bytes] = {}
    firsts = [row.first_inbound for row in found if row.first_inbound is not None]
    if firsts:
        for row in conn.execute(select(i.c.id, i.c.raw).where(i.c.id.in_(firsts))):
            raws[row.id] = row.raw
    blocked = set()
    if found:
        rows = conn.execute(
            select(b.c.channel, b.c.recipient).where(
                b.c.recipient.in_([row.recipient for row in found])
            )
        )
        blocked = {(row.channel, row.recipient) for row in rows}
    latest = _latest_written(
        conn, [(r.channel, r.recipient) for r in found if r.channel in windowed]
    )
    return [
        DueSurvey(
            survey_id=row.id,
            ticket_id=row.ticket_id,
            ref=row.ref,
            channel=row.channel,
            recipient=row.recipient,
            customer_name=row.customer_name or "",
            subject=row.subject or "",
            language=row.language,
            first_inbound=row.first_inbound,
            raw=raws.get(row.first_inbound) if row.first_inbound else None,
            blocked=(row.channel, row.recipient) in blocked,
            last_raw=latest.get((row.channel, row.recipient)),
        )
        for row in found
    ]


def _latest_written(conn: Connection, who: list[tuple[str, str]]) -> dict[tuple[str, str], bytes]:
    """Each (channel, customer)'s latest message as recorded, of those the customer wrote."""
    if not who:
        return {}
    t, i = schema.tickets, schema.inbound
    pairs = set(who)
    latest = (
        select(func.max(i.c.id))
        .join(t, t.c.id == i.c.ticket_id)
        .where(
            t.c.channel.in_({c for c, _ in pairs}),
            t.c.customer.in_({r for _, r in pairs}),
            i.c.outcome.in_(CUSTOMER_OUTCOMES),
        )
        .group_by(t.c.channel, t.c.customer)
    )
    rows = conn.execute(
        select(t.c.channel, t.c.customer, i.c.raw)
        .join(t, t.c.id == i.c.ticket_id)
        .where(i.c.id.in_(latest))
    )
    return {
        (row.channel, row.customer): bytes(row.raw)
        for row in rows
        if (row.channel, row.customer) in pairs
    }


def record_sent(
    conn: Connection, sends: Sequence[SentSurvey], now: datetime, owner: str | None
) -> list[Queued]:
    """Mark each survey sent and queue its message, `owner`'s to send, only if it is still
    planned: a survey sent (or cancelled) since it was read sends nothing, nor does the
    second of two instances sending it at once (the UPDATE's WHERE decides, as alerts')."""
    s, r = schema.surveys, schema.replies
    queued = []
    for send in sends:
        claimed = conn.execute(
            update(s)
            .where(s.c.id == send.survey_id, s.c.state == "planned", s.c.due_at <= now + FIRE_SLACK)
            .values(state="sent", sent_at=now, updated_at=now)
        )
        if not claimed.rowcount:
            continue
        row = conn.execute(
            r.insert()
            .values(
                **{**send.reply.__dict__, "survey_id": send.survey_id},
                inbound_id=send.inbound_id,
                channel=send.channel,
                ticket_id=send.ticket_id,
                state="pending",
                attempts=0,
                created_at=now,
                owner=owner,
            )
            .returning(r.c.id)
        )
        reply_id = int(row.scalar_one())
        conn.execute(update(s).where(s.c.id == send.survey_id).values(reply_id=reply_id))
        if not send.reply.message_id.startswith("<"):
            # The customer's answer names the survey's Message-ID: it joins the ticket.
            conn.execute(
                insert_or_ignore(conn, schema.thread_ids, ("message_id",)),
                {"message_id": send.reply.message_id, "ticket_id": send.ticket_id},
            )
        queued.append(Queued(reply_id, send.inbound_id, send.channel, send.reply))
    return queued
