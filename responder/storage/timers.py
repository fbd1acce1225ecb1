"""SLA timer rows: re-planned with the tickets they time, read in due order, fired once."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import and_, bindparam, func, or_, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from responder.core.sla.plan import FINAL, Event, plan_ticket
from responder.domain.calendar import BusinessCalendar
from responder.domain.sla_policy import SlaPolicies
from responder.storage import schema


@dataclass(frozen=True)
class Armed:
    """A pending timer the scheduler should wake us for."""

    id: int
    due_at: datetime


@dataclass(frozen=True)
class TicketFacts:
    """What re-checking and announcing a ticket's timers needs from the database."""

    id: int
    ref: str
    channel: str
    customer: str
    customer_name: str
    subject: str
    language: str
    policy: str | None
    opened: datetime
    first_inbound: int | None
    events: list[Event] = field(default_factory=list)


async def facts(conn: AsyncConnection, ticket_ids: Iterable[int]) -> dict[int, TicketFacts]:
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
    rows = await conn.execute(
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
    events = await conn.execute(
        select(ev.c.ticket_id, ev.c.kind, ev.c.created_at, ev.c.detail)
        .where(ev.c.ticket_id.in_(ids))
        .order_by(ev.c.id)
    )
    for e in events:
        found[e.ticket_id].events.append((e.kind, e.created_at, e.detail))
    return found


async def replan(
    conn: AsyncConnection,
    ticket_ids: Iterable[int],
    policies: SlaPolicies,
    calendar: BusinessCalendar,
    now: datetime,
) -> list[Armed]:
    """Bring the tickets' timer rows in line with their policies and events as of now;
    returns the rows that became pending or moved, for the scheduler."""
    return await replan_known(conn, await facts(conn, ticket_ids), policies, calendar, now)


async def replan_known(
    conn: AsyncConnection,
    tickets: dict[int, TicketFacts],
    policies: SlaPolicies,
    calendar: BusinessCalendar,
    now: datetime,
) -> list[Armed]:
    """replan, for tickets whose facts the caller has already read."""
    tm = schema.timers
    if not tickets:
        return []
    rows = await conn.execute(select(tm).where(tm.c.ticket_id.in_(list(tickets))))
    existing: dict[int, dict[tuple[str, str], Any]] = defaultdict(dict)
    for r in rows:
        existing[r.ticket_id][r.clock, r.stage] = r
    changes: list[dict[str, object]] = []
    inserts: list[dict[str, object]] = []
    armed: list[Armed] = []
    for ticket in tickets.values():
        policy = policies.for_ticket(ticket.policy)
        wants = plan_ticket(policy, ticket.opened, ticket.events, now, calendar)
        mine = existing[ticket.id]
        for key, row in mine.items():
            if key not in wants and row.state not in FINAL and row.state != "stopped":
                changes.append({"b_id": row.id, "b_state": "stopped", "b_due": None})
        for key, want in wants.items():
            found = mine.get(key)
            if found is None:
                inserts.append(
                    {
                        "ticket_id": ticket.id,
                        "clock": want.clock,
                        "stage": want.stage.name,
                        "state": want.state,
                        "due_at": want.due_at,
                        "updated_at": now,
                    }
                )
            elif found.state not in FINAL and (found.state, found.due_at) != (
                want.state,
                want.due_at,
            ):
                changes.append({"b_id": found.id, "b_state": want.state, "b_due": want.due_at})
                if want.due_at is not None:
                    armed.append(Armed(found.id, want.due_at))
    if changes:
        await conn.execute(
            update(tm)
            .where(tm.c.id == bindparam("b_id"))
            .values(state=bindparam("b_state"), due_at=bindparam("b_due"), updated_at=now),
            changes,
        )
    if inserts:
        result = await conn.execute(
            tm.insert().returning(tm.c.id, sort_by_parameter_order=True), inserts
        )
        for values, row in zip(inserts, result, strict=True):
            due = values["due_at"]
            if isinstance(due, datetime):
                armed.append(Armed(row.id, due))
    return armed


async def earliest(
    conn: AsyncConnection, after: tuple[datetime, int] | None, limit: int
) -> list[Armed]:
    """Pending timers in (due_at, id) order, strictly after `after`."""
    tm = schema.timers
    query = select(tm.c.id, tm.c.due_at).where(tm.c.state == "pending")
    if after is not None:
        due, last = after
        query = query.where(or_(tm.c.due_at > due, and_(tm.c.due_at == due, tm.c.id > last)))
    rows = await conn.execute(query.order_by(tm.c.due_at, tm.c.id).limit(limit))
    return [Armed(r.id, r.due_at) for r in rows]


async def tickets_of(conn: AsyncConnection, timer_ids: Iterable[int]) -> set[int]:
    tm = schema.timers
    ids = list(timer_ids)
    if not ids:
        return set()
    rows = await conn.execute(select(tm.c.ticket_id).where(tm.c.id.in_(ids)).distinct())
    return {r.ticket_id for r in rows}


async def overdue_tickets(conn: AsyncConnection, now: datetime, limit: int) -> set[int]:
    tm = schema.timers
    rows = await conn.execute(
        select(tm.c.ticket_id)
        .where(tm.c.state == "pending", tm.c.due_at <= now)
        .order_by(tm.c.due_at)
        .limit(limit)
    )
    return {r.ticket_id for r in rows}


async def due(
    conn: AsyncConnection, ticket_ids: Iterable[int], now: datetime
) -> dict[int, list[tuple[int, str, str]]]:
    """Pending timers due by now, per ticket, as (id, clock, stage)."""
    tm = schema.timers
    ids = list(ticket_ids)
    out: dict[int, list[tuple[int, str, str]]] = defaultdict(list)
    if not ids:
        return out
    rows = await conn.execute(
        select(tm.c.id, tm.c.ticket_id, tm.c.clock, tm.c.stage)
        .where(tm.c.ticket_id.in_(ids), tm.c.state == "pending", tm.c.due_at <= now)
        .order_by(tm.c.due_at, tm.c.id)
    )
    for r in rows:
        out[r.ticket_id].append((r.id, r.clock, r.stage))
    return out


async def pending(conn: AsyncConnection, timer_ids: Iterable[int]) -> list[Armed]:
    tm = schema.timers
    ids = list(timer_ids)
    if not ids:
        return []
    rows = await conn.execute(
        select(tm.c.id, tm.c.due_at).where(tm.c.id.in_(ids), tm.c.state == "pending")
    )
    return [Armed(r.id, r.due_at) for r in rows]


async def open_tickets(conn: AsyncConnection, after: int, limit: int) -> list[int]:
    t = schema.tickets
    rows = await conn.execute(
        select(t.c.id).where(t.c.status == "open", t.c.id > after).order_by(t.c.id).limit(limit)
    )
    return [r.id for r in rows]
