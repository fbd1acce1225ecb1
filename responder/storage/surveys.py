"""Survey rows: their tickets' facts read, planned changes written, due ones found."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime

from sqlalchemy import Connection, and_, func, or_, select, tuple_, update

from responder.domain.csat import MOVABLE, STAFF_EVENTS, SurveyPlan, SurveyRow, SurveyTicket
from responder.domain.timers import Armed
from responder.storage import schema
from responder.storage.alerts import FIRE_SLACK
from responder.storage.bulk import insert_new


def facts(conn: Connection, ticket_ids: Iterable[int]) -> dict[int, SurveyTicket]:
    t, ev, r = schema.tickets, schema.ticket_events, schema.replies
    ids = list(ticket_ids)
    if not ids:
        return {}
    rows = conn.execute(
        select(
            t.c.id, t.c.channel, t.c.customer, t.c.status, t.c.resolved_at, t.c.utc_offset
        ).where(t.c.id.in_(ids))
    )
    tickets = {row.id: row for row in rows}
    last: dict[tuple[int, str], datetime] = {}
    rows = conn.execute(
        select(ev.c.ticket_id, ev.c.kind, func.max(ev.c.created_at).label("at"))
        .where(ev.c.ticket_id.in_(ids), ev.c.kind.in_([*STAFF_EVENTS, "customer_reply"]))
        .group_by(ev.c.ticket_id, ev.c.kind)
    )
    for row in rows:
        last[row.ticket_id, row.kind] = row.at
    kinds: dict[int, set[str]] = {}
    rows = conn.execute(
        select(r.c.ticket_id, r.c.kind)
        .where(r.c.ticket_id.in_(ids), r.c.state != "parked")
        .distinct()
    )
    for row in rows:
        kinds.setdefault(row.ticket_id, set()).add(row.kind)
    # Tickets whose customer has a newer one open on the channel: they are still waiting.
    pairs = {(row.channel, row.customer) for row in tickets.values()}
    newer = conn.execute(
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
        out[ticket_id] = SurveyTicket(
            ticket_id=ticket_id,
            channel=row.channel,
            customer=row.customer,
            status=row.status,
            resolved_at=row.resolved_at,
            last_staff=max(staff) if staff else None,
            last_customer=last.get((ticket_id, "customer_reply")),
            reply_kinds=frozenset(kinds.get(ticket_id, ())),
            utc_offset=row.utc_offset,
            waiting_elsewhere=latest_open.get((row.channel, row.customer), 0) > ticket_id,
        )
    return out


def existing(conn: Connection, ticket_ids: Iterable[int]) -> dict[int, SurveyRow]:
    """The tickets' survey rows (one per ticket, ever), by ticket."""
    s = schema.surveys
    ids = list(ticket_ids)
    if not ids:
        return {}
    rows = conn.execute(
        select(s.c.id, s.c.ticket_id, s.c.state, s.c.due_at).where(s.c.ticket_id.in_(ids))
    )
    return {row.ticket_id: SurveyRow(row.id, row.ticket_id, row.state, row.due_at) for row in rows}


def save(conn: Connection, plan: SurveyPlan, now: datetime) -> list[Armed]:
    """Write a re-plan; returns the rows newly due at a (new) time, for the scheduler."""
    s = schema.surveys
    armed: list[Armed] = []
    rows = [
        {
            "ticket_id": new.ticket_id,
            "channel": new.channel,
            "recipient": new.recipient,
            "state": "planned",
            "due_at": new.due_at,
            "created_at": now,
            "updated_at": now,
        }
        for new in plan.inserts
    ]
    # One survey per ticket, ever: one another daemon planned meanwhile is its to arm.
    ids = insert_new(conn, s, "ticket_id", rows)
    armed += [Armed(i, new.due_at) for new, i in zip(plan.inserts, ids, strict=True) if i]
    for change in plan.changes:
        conn.execute(
            update(s)
            .where(s.c.id == change.id)
            .values(state=change.state, due_at=change.due_at, reason=change.reason, updated_at=now)
        )
        if change.due_at is not None:
            armed.append(Armed(change.id, change.due_at))
    return armed


def earliest(conn: Connection, after: tuple[datetime, int] | None, limit: int) -> list[Armed]:
    """The next planned surveys by (due_at, id), after a frontier, for the scheduler."""
    s = schema.surveys
    query = select(s.c.id, s.c.due_at).where(s.c.state == "planned", s.c.due_at.is_not(None))
    if after is not None:
        query = query.where(tuple_(s.c.due_at, s.c.id) > tuple_(*after))
    rows = conn.execute(query.order_by(s.c.due_at, s.c.id).limit(limit))
    return [Armed(row.id, row.due_at) for row in rows]


def tickets_of(conn: Connection, survey_ids: Sequence[int]) -> list[int]:
    s = schema.surveys
    rows = conn.execute(select(s.c.ticket_id).where(s.c.id.in_(list(survey_ids))))
    return [row.ticket_id for row in rows]


def planned_tickets(conn: Connection) -> list[int]:
    """Tickets whose survey is planned or cancelled (not sent yet), to re-plan on reload."""
    s = schema.surveys
    rows = conn.execute(select(s.c.ticket_id).where(s.c.state.in_(MOVABLE)))
    return [row.ticket_id for row in rows]


def overdue_tickets(conn: Connection, now: datetime, limit: int) -> list[int]:
    s = schema.surveys
    rows = conn.execute(
        select(s.c.ticket_id)
        .where(s.c.state == "planned", s.c.due_at <= now)
        .order_by(s.c.due_at, s.c.id)
        .limit(limit)
    )
    return [row.ticket_id for row in rows]


def recently_surveyed(
    conn: Connection, who: set[tuple[str, str]], since: datetime
) -> dict[tuple[str, str], datetime]:
    """When each (channel, recipient) was last surveyed, if since `since`."""
    s = schema.surveys
    if not who:
        return {}
    wanted = or_(*(and_(s.c.channel == c, s.c.recipient == r) for c, r in who))
    rows = conn.execute(
        select(s.c.channel, s.c.recipient, s.c.sent_at).where(wanted, s.c.sent_at >= since)
    )
    out: dict[tuple[str, str], datetime] = {}
    for row in rows:
        key = (row.channel, row.recipient)
        out[key] = max(out.get(key, row.sent_at), row.sent_at)
    return out


def skip(conn: Connection, reasons: dict[int, str], now: datetime) -> None:
    """Mark due surveys skipped, each only if still planned and due (storage.alerts)."""
    s = schema.surveys
    for survey_id, reason in reasons.items():
        conn.execute(
            update(s)
            .where(s.c.id == survey_id, s.c.state == "planned", s.c.due_at <= now + FIRE_SLACK)
            .values(state="skipped", reason=reason, updated_at=now)
        )


def pending(conn: Connection, survey_ids: Iterable[int]) -> list[Armed]:
    s = schema.surveys
    ids = list(survey_ids)
    if not ids:
        return []
    rows = conn.execute(select(s.c.id, s.c.due_at).where(s.c.id.in_(ids), s.c.state == "planned"))
    return [Armed(r.id, r.due_at) for r in rows]
