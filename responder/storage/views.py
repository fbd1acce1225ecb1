"""Reading what deciding an email batch needs, and the reply counts every channel shares."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

from sqlalchemy import Connection, func, select

from responder.core.decisions import OUT_OF_HOURS
from responder.core.forget import ERASED
from responder.core.reply_kinds import (
    CUSTOMER_OUTCOMES,
    EMAIL_LEFT,
    FOLLOWS_UP,
    PERSONAL_KINDS,
    UNSENT,
)
from responder.core.view import TicketInfo, View
from responder.storage import schema, survey_answers
from responder.storage.contact_history import contact_histories
from responder.storage.retention import MARKER


def load_view(
    conn: Connection,
    message_ids: Iterable[str],
    refs: Iterable[str],
    targets: Iterable[str],
    since: datetime,
    periods: Iterable[str] = (),
) -> View:
    t, th = schema.tickets, schema.thread_ids
    targets = list(targets)
    view = View()
    if ids := list(message_ids):
        rows = conn.execute(
            select(th.c.message_id, t.c.ref)
            .join(t, t.c.id == th.c.ticket_id)
            .where(th.c.message_id.in_(ids))
        )
        view.ref_by_message_id = {row.message_id: row.ref for row in rows}
    if wanted := list(refs):
        rows = conn.execute(select(t.c.ref).where(t.c.ref.in_(wanted)))
        view.existing_refs = {row.ref for row in rows}
    if known := set(view.ref_by_message_id.values()) | view.existing_refs:
        found = survey_answers.load(conn, refs=known)
        view.surveys_by_ref = {info.ref: info for info in found.values()}
        view.tickets = with_targets(conn, ticket_infos(conn, known))
        view.followed_by = successors(conn, known)
    view.recent_replies = recent_replies(conn, targets, since)
    view.closed_replies = closed_replies(conn, targets, periods)
    view.histories = contact_histories(conn, targets, None)
    return view


def recent_replies(conn: Connection, targets: Iterable[str], since: datetime) -> dict[str, int]:
    """Automatic replies per recipient since `since`, for the per-sender cap."""
    r = schema.replies
    if not (recipients := list(targets)):
        return {}
    rows = conn.execute(
        select(r.c.recipient, func.count().label("n"))
        .where(
            r.c.recipient.in_(recipients),
            r.c.created_at >= since,
            r.c.state.not_in(UNSENT),
            r.c.kind.not_in(PERSONAL_KINDS),
        )
        .group_by(r.c.recipient)
    )
    return {row.recipient: int(row.n) for row in rows}


def closed_replies(
    conn: Connection, targets: Iterable[str], periods: Iterable[str]
) -> set[tuple[str, str]]:
    """(recipient, period) pairs that already had this closed period's out-of-hours reply."""
    r = schema.replies
    recipients, closed = list(targets), list(periods)
    if not recipients or not closed:
        return set()
    rows = conn.execute(
        select(r.c.recipient, r.c.period).where(
            r.c.kind == OUT_OF_HOURS,
            r.c.recipient.in_(recipients),
            r.c.period.in_(closed),
            r.c.state.not_in(UNSENT),
        )
    )
    return {(row.recipient, row.period) for row in rows}


def ticket_infos(conn: Connection, refs: Iterable[str]) -> dict[str, TicketInfo]:
    """The tickets a batch names, with the channel each is at home in (a staff answer from
    another channel's desk is passed on there) and the address its customer left."""
    return {ref: info for ref, (_, info) in tickets_by_ref(conn, refs).items()}


def tickets_by_ref(conn: Connection, refs: Iterable[str]) -> dict[str, tuple[int, TicketInfo]]:
    """ticket_infos, each with its row id."""
    t = schema.tickets
    rows = list(
        conn.execute(
            select(
                t.c.id,
                t.c.ref,
                t.c.customer,
                t.c.status,
                t.c.language,
                t.c.customer_name,
                t.c.channel,
                t.c.resolved_at,
                t.c.created_at,
                t.c.merged_into,
            ).where(t.c.ref.in_(list(refs)))
        )
    )
    reach = reaches(conn, [row.id for row in rows])
    into = merged_refs(conn, {row.merged_into for row in rows if row.merged_into is not None})
    return {
        row.ref: (
            row.id,
            TicketInfo(
                row.ref,
                row.customer,
                row.status,
                row.language,
                row.customer_name,
                row.channel,
                reach.get(row.id),
                row.resolved_at if row.status == "resolved" else None,
                row.created_at,
                into.get(row.merged_into) if row.merged_into is not None else None,
            ),
        )
        for row in rows
    }


def merged_refs(conn: Connection, ids: set[int]) -> dict[int, str]:
    """The references of the tickets duplicates were merged into (issue 18), by id."""
    t = schema.tickets
    if not ids:
        return {}
    return {r.id: r.ref for r in conn.execute(select(t.c.id, t.c.ref).where(t.c.id.in_(ids)))}


def with_targets(conn: Connection, tickets: dict[str, TicketInfo]) -> dict[str, TicketInfo]:
    """`tickets` and the tickets its merged duplicates joined, which their messages go to."""
    wanted = {i.merged_into for i in tickets.values() if i.merged_into} - set(tickets)
    return {**tickets, **ticket_infos(conn, wanted)} if wanted else tickets


def message_counts(conn: Connection, refs: Iterable[str]) -> dict[str, int]:
    """How many customer messages each ticket has (what /merge moves), by reference."""
    t, i = schema.tickets, schema.inbound
    if not (wanted := list(refs)):
        return {}
    rows = conn.execute(
        select(t.c.ref, func.count(i.c.id).label("n"))
        .join(i, i.c.ticket_id == t.c.id)
        .where(t.c.ref.in_(wanted), i.c.outcome.in_(CUSTOMER_OUTCOMES))
        .group_by(t.c.ref)
    )
    return {row.ref: int(row.n) for row in rows}


def successors(conn: Connection, refs: Iterable[str]) -> dict[str, str]:
    """The open tickets that follow up these (opened past their reopen window), by the
    reference they follow."""
    e, t = schema.ticket_events, schema.tickets
    if not (wanted := list(refs)):
        return {}
    rows = conn.execute(
        select(e.c.detail, t.c.ref)
        .join(t, t.c.id == e.c.ticket_id)
        .where(e.c.kind == FOLLOWS_UP, e.c.detail.in_(wanted), t.c.status == "open")
        .order_by(e.c.id)
    )
    return {row.detail: row.ref for row in rows}


def reaches(conn: Connection, tickets: Iterable[int]) -> dict[int, str]:
    """The email address each ticket's customer left last (issue 17), by ticket id."""
    if not (ids := list(tickets)):
        return {}
    e = schema.ticket_events
    rows = conn.execute(
        select(e.c.ticket_id, e.c.detail)
        .where(
            e.c.ticket_id.in_(ids),
            e.c.kind == EMAIL_LEFT,
            e.c.detail.is_not(None),
            # Past `retention`, or forgotten on request, the address is gone.
            e.c.detail.not_like(f"{MARKER}%"),
            e.c.detail.not_like(f"{ERASED}%"),
        )
        .order_by(e.c.id)
    )
    return {row.ticket_id: row.detail for row in rows}
