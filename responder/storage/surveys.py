"""Survey rows: planned with the ticket's changes, found when due, sent once, answered."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime, tzinfo

from sqlalchemy import and_, func, or_, select, tuple_, update
from sqlalchemy.ext.asyncio import AsyncConnection

from responder.config.csat import CsatConfig
from responder.core.csat.timing import SurveyFacts, wanted_at
from responder.core.reply_kinds import is_canned_answer
from responder.storage import schema
from responder.storage.timers import Armed

# planned and cancelled surveys follow the ticket; once sent (or skipped) a survey is final.
MOVABLE = ("planned", "cancelled")
STAFF_EVENTS = ("staff_reply", "answered")
NOT_NOW = "no longer due: reopened, the customer wrote again, or too late to ask"


async def facts(conn: AsyncConnection, ticket_ids: Iterable[int]) -> dict[int, SurveyFacts]:
    t, ev, r = schema.tickets, schema.ticket_events, schema.replies
    ids = list(ticket_ids)
    if not ids:
        return {}
    rows = await conn.execute(
        select(
            t.c.id, t.c.channel, t.c.customer, t.c.status, t.c.resolved_at, t.c.utc_offset
        ).where(t.c.id.in_(ids))
    )
    tickets = {row.id: row for row in rows}
    last: dict[tuple[int, str], datetime] = {}
    rows = await conn.execute(
        select(ev.c.ticket_id, ev.c.kind, func.max(ev.c.created_at).label("at"))
        .where(ev.c.ticket_id.in_(ids), ev.c.kind.in_([*STAFF_EVENTS, "customer_reply"]))
        .group_by(ev.c.ticket_id, ev.c.kind)
    )
    for row in rows:
        last[row.ticket_id, row.kind] = row.at
    rows = await conn.execute(
        select(r.c.ticket_id, r.c.kind)
        .where(r.c.ticket_id.in_(ids), r.c.state != "parked")
        .distinct()
    )
    canned = {row.ticket_id for row in rows if is_canned_answer(row.kind)}
    # Tickets whose customer has a newer one open on the channel: they are still waiting.
    pairs = {(row.channel, row.customer) for row in tickets.values()}
    newer = await conn.execute(
        select(t.c.channel, t.c.customer, func.max(t.c.id).label("latest"))
        .where(
            t.c.status == "open",
            t.c.customer.in_([c for _, c in pairs]),
        )
        .group_by(t.c.channel, t.c.customer)
    )
    latest_open = {(row.channel, row.customer): row.latest for row in newer}
    out = {}
    for ticket_id, row in tickets.items():
        staff = [last[k] for k in ((ticket_id, kind) for kind in STAFF_EVENTS) if k in last]
        out[ticket_id] = SurveyFacts(
            ticket_id=ticket_id,
            channel=row.channel,
            customer=row.customer,
            status=row.status,
            resolved_at=row.resolved_at,
            last_staff=max(staff) if staff else None,
            last_customer=last.get((ticket_id, "customer_reply")),
            answered=bool(staff) or ticket_id in canned,
            utc_offset=row.utc_offset,
            waiting_elsewhere=latest_open.get((row.channel, row.customer), 0) > ticket_id,
        )
    return out


async def plan(
    conn: AsyncConnection,
    ticket_ids: Iterable[int],
    csat: CsatConfig,
    zone: tzinfo,
    now: datetime,
) -> list[Armed]:
    """Bring the tickets' survey rows in line with them; returns the rows newly due at a
    (new) time, for the scheduler."""
    found = await facts(conn, ticket_ids)
    if not found:
        return []
    s = schema.surveys
    rows = await conn.execute(select(s).where(s.c.ticket_id.in_(list(found))))
    existing = {row.ticket_id: row for row in rows}
    armed: list[Armed] = []
    for ticket_id, f in found.items():
        row = existing.get(ticket_id)
        if row is not None and row.state not in MOVABLE:
            continue  # one survey per ticket, ever
        due = wanted_at(f, csat, zone, now)
        if row is None:
            if due is None:
                continue
            result = await conn.execute(
                s.insert().values(
                    ticket_id=ticket_id,
                    channel=f.channel,
                    recipient=f.customer,
                    state="planned",
                    due_at=due,
                    created_at=now,
                    updated_at=now,
                )
            )
            assert result.inserted_primary_key is not None
            armed.append(Armed(int(result.inserted_primary_key[0]), due))
            continue
        state = "planned" if due is not None else "cancelled"
        if (state, due) == (row.state, row.due_at):
            continue
        reason = None if due is not None else NOT_NOW
        await conn.execute(
            update(s)
            .where(s.c.id == row.id)
            .values(state=state, due_at=due, reason=reason, updated_at=now)
        )
        if due is not None:
            armed.append(Armed(row.id, due))
    return armed


async def earliest(
    conn: AsyncConnection, after: tuple[datetime, int] | None, limit: int
) -> list[Armed]:
    """The next planned surveys by (due_at, id), after a frontier, for the scheduler."""
    s = schema.surveys
    query = select(s.c.id, s.c.due_at).where(s.c.state == "planned", s.c.due_at.is_not(None))
    if after is not None:
        query = query.where(tuple_(s.c.due_at, s.c.id) > tuple_(*after))
    rows = await conn.execute(query.order_by(s.c.due_at, s.c.id).limit(limit))
    return [Armed(row.id, row.due_at) for row in rows]


async def tickets_of(conn: AsyncConnection, survey_ids: Sequence[int]) -> list[int]:
    s = schema.surveys
    rows = await conn.execute(select(s.c.ticket_id).where(s.c.id.in_(list(survey_ids))))
    return [row.ticket_id for row in rows]


async def planned_tickets(conn: AsyncConnection) -> list[int]:
    """Tickets whose survey is planned or cancelled (not sent yet), to re-plan on reload."""
    s = schema.surveys
    rows = await conn.execute(select(s.c.ticket_id).where(s.c.state.in_(MOVABLE)))
    return [row.ticket_id for row in rows]


async def overdue_tickets(conn: AsyncConnection, now: datetime, limit: int) -> list[int]:
    s = schema.surveys
    rows = await conn.execute(
        select(s.c.ticket_id)
        .where(s.c.state == "planned", s.c.due_at <= now)
        .order_by(s.c.due_at, s.c.id)
        .limit(limit)
    )
    return [row.ticket_id for row in rows]


async def recently_surveyed(
    conn: AsyncConnection, who: set[tuple[str, str]], since: datetime
) -> dict[tuple[str, str], datetime]:
    """When each (channel, recipient) was last surveyed, if since `since`."""
    s = schema.surveys
    if not who:
        return {}
    wanted = or_(*(and_(s.c.channel == c, s.c.recipient == r) for c, r in who))
    rows = await conn.execute(
        select(s.c.channel, s.c.recipient, s.c.sent_at).where(wanted, s.c.sent_at >= since)
    )
    out: dict[tuple[str, str], datetime] = {}
    for row in rows:
        key = (row.channel, row.recipient)
        out[key] = max(out.get(key, row.sent_at), row.sent_at)
    return out


async def skip(conn: AsyncConnection, reasons: dict[int, str], now: datetime) -> None:
    s = schema.surveys
    for survey_id, reason in reasons.items():
        await conn.execute(
            update(s)
            .where(s.c.id == survey_id, s.c.state == "planned")
            .values(state="skipped", reason=reason, updated_at=now)
        )


async def pending(conn: AsyncConnection, survey_ids: Iterable[int]) -> list[Armed]:
    s = schema.surveys
    ids = list(survey_ids)
    if not ids:
        return []
    rows = await conn.execute(
        select(s.c.id, s.c.due_at).where(s.c.id.in_(ids), s.c.state == "planned")
    )
    return [Armed(r.id, r.due_at) for r in rows]
