"""SLA timer rows: their tickets' facts read, planned changes written, due ones found."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from datetime import datetime

from sqlalchemy import ColumnElement, Connection, and_, bindparam, func, or_, select, update

from responder.domain.closing import CLOSE_CLOCK
from responder.domain.timers import Armed, TicketFacts, TimerPlan, TimerRow
from responder.storage import schema
from responder.storage.bulk import insert_new


def _kind(close: bool) -> ColumnElement[bool]:
    """SLA stages, or the auto-close timers kept in the same table (issue 18): each service
    sees only its own rows."""
    clock = schema.timers.c.clock
    return clock == CLOSE_CLOCK if close else clock != CLOSE_CLOCK


def facts(conn: Connection, ticket_ids: Iterable[int]) -> dict[int, TicketFacts]:
    t, ev, inbound = schema.tickets, schema.ticket_events, schema.inbound
    ids = list(ticket_ids)
    if not ids:
        return {}
    first = (
        select(inbound.c.ticket_id, func.min(inbound.c.id).label("first"))
        .where(inbound.c.ticket_id.in_(ids))
        .group_by(inbound.c.ticket_id)
        .subquery()
    )
    rows = conn.execute(
        select(t, first.c.first)
        .outerjoin(first, first.c.ticket_id == t.c.id)
        .where(t.c.id.in_(ids))
    )
    found = {
        r.id: TicketFacts(
            r.id,
            r.ref,
            r.channel,
            r.customer,
            r.customer_name,
            r.subject,
            r.language,
            r.sla_policy,
            r.created_at,
            r.first,
        )
        for r in rows
    }
    events = conn.execute(
        select(ev.c.ticket_id, ev.c.kind, ev.c.created_at, ev.c.detail)
        .where(ev.c.ticket_id.in_(ids))
        .order_by(ev.c.id)
    )
    for e in events:
        found[e.ticket_id].events.append((e.kind, e.created_at, e.detail))
    return found


def existing(
    conn: Connection, ticket_ids: Iterable[int], close: bool = False
) -> dict[int, dict[tuple[str, str], TimerRow]]:
    """The tickets' timer rows, by ticket and (clock, stage)."""
    tm = schema.timers
    out: dict[int, dict[tuple[str, str], TimerRow]] = defaultdict(dict)
    ids = list(ticket_ids)
    if not ids:
        return out
    for r in conn.execute(select(tm).where(tm.c.ticket_id.in_(ids), _kind(close))):
        out[r.ticket_id][r.clock, r.stage] = TimerRow(
            r.id, r.ticket_id, r.clock, r.stage, r.state, r.due_at
        )
    return out


def save(conn: Connection, plan: TimerPlan, now: datetime) -> list[Armed]:
    """Write a re-plan; returns the rows that became pending or moved, for the scheduler."""
    tm = schema.timers
    armed = [Armed(c.id, c.due_at) for c in plan.changes if c.due_at is not None]
    if plan.changes:
        conn.execute(
            update(tm)
            .where(tm.c.id == bindparam("b_id"))
            .values(state=bindparam("b_state"), due_at=bindparam("b_due"), updated_at=now),
            [{"b_id": c.id, "b_state": c.state, "b_due": c.due_at} for c in plan.changes],
        )
    if plan.inserts:
        rows = [{**new.__dict__, "updated_at": now} for new in plan.inserts]
        # A timer another daemon planned meanwhile (issue 19) is left to it to arm.
        ids = insert_new(conn, tm, ("ticket_id", "clock", "stage"), rows)
        for new, timer_id in zip(plan.inserts, ids, strict=True):
            if new.due_at is not None and timer_id is not None:
                armed.append(Armed(timer_id, new.due_at))
    return armed


def earliest(
    conn: Connection, after: tuple[datetime, int] | None, limit: int, close: bool = False
) -> list[Armed]:
    """Pending timers in (due_at, id) order, strictly after `after`."""
    tm = schema.timers
    query = select(tm.c.id, tm.c.due_at).where(tm.c.state == "pending", _kind(close))
    if after is not None:
        due, last = after
        query = query.where(or_(tm.c.due_at > due, and_(tm.c.due_at == due, tm.c.id > last)))
    rows = conn.execute(query.order_by(tm.c.due_at, tm.c.id).limit(limit))
    return [Armed(r.id, r.due_at) for r in rows]


def tickets_of(conn: Connection, timer_ids: Iterable[int]) -> set[int]:
    tm = schema.timers
    ids = list(timer_ids)
    if not ids:
        return set()
    rows = conn.execute(select(tm.c.ticket_id).where(tm.c.id.in_(ids)).distinct())
    return {r.ticket_id for r in rows}


def overdue_tickets(conn: Connection, now: datetime, limit: int, close: bool = False) -> set[int]:
    tm = schema.timers
    rows = conn.execute(
        select(tm.c.ticket_id)
        .where(tm.c.state == "pending", tm.c.due_at <= now, _kind(close))
        .order_by(tm.c.due_at)
        .limit(limit)
    )
    return {r.ticket_id for r in rows}


def due(
    conn: Connection, ticket_ids: Iterable[int], now: datetime, close: bool = False
) -> dict[int, list[tuple[int, str, str]]]:
    """Pending timers due by now, per ticket, as (id, clock, stage)."""
    tm = schema.timers
    ids = list(ticket_ids)
    out: dict[int, list[tuple[int, str, str]]] = defaultdict(list)
    if not ids:
        return out
    rows = conn.execute(
        select(tm.c.id, tm.c.ticket_id, tm.c.clock, tm.c.stage)
        .where(tm.c.ticket_id.in_(ids), tm.c.state == "pending", tm.c.due_at <= now, _kind(close))
        .order_by(tm.c.due_at, tm.c.id)
    )
    for r in rows:
        out[r.ticket_id].append((r.id, r.clock, r.stage))
    return out


def pending(conn: Connection, timer_ids: Iterable[int], close: bool = False) -> list[Armed]:
    tm = schema.timers
    ids = list(timer_ids)
    if not ids:
        return []
    rows = conn.execute(
        select(tm.c.id, tm.c.due_at).where(tm.c.id.in_(ids), tm.c.state == "pending", _kind(close))
    )
    return [Armed(r.id, r.due_at) for r in rows]


def open_tickets(conn: Connection, after: int, limit: int) -> list[int]:
    t = schema.tickets
    rows = conn.execute(
        select(t.c.id).where(t.c.status == "open", t.c.id > after).order_by(t.c.id).limit(limit)
    )
    return [r.id for r in rows]


def statuses(conn: Connection, ticket_ids: Iterable[int]) -> dict[int, str]:
    t = schema.tickets
    ids = list(ticket_ids)
    if not ids:
        return {}
    return {r.id: r.status for r in conn.execute(select(t.c.id, t.c.status).where(t.c.id.in_(ids)))}


def resolve(conn: Connection, ticket_ids: Iterable[int], now: datetime) -> None:
    """Open tickets resolved as /close does (issue 18's auto-close)."""
    t = schema.tickets
    if ids := list(ticket_ids):
        conn.execute(
            update(t)
            .where(t.c.id.in_(ids), t.c.status == "open")
            .values(status="resolved", resolved_at=now, updated_at=now)
        )
