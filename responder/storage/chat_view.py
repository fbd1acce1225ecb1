"""Reading what deciding a batch of chat messages needs, in one transaction."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Connection, func, select

from responder.core.reply_kinds import CUSTOMER_OUTCOMES, STAFF_RELAY
from responder.core.view import View
from responder.storage import schema, survey_answers
from responder.storage.contact_history import contact_histories
from responder.storage.views import (
    closed_replies,
    message_counts,
    recent_replies,
    tickets_by_ref,
    with_targets,
)


@dataclass(frozen=True)
class ChatKeys:
    """What a batch names: its customers, the staff posts and topics answered, the
    references typed after a command, and fresh references to check for collisions."""

    channel: str
    staff_chat: int | None
    customers: frozenset[str]
    posts: frozenset[int]
    threads: frozenset[int]
    refs: frozenset[str]
    surveys: frozenset[int] = frozenset()  # named by survey buttons pressed
    replied: frozenset[int] = frozenset()  # our messages customers replied to (a survey?)
    merging: bool = False  # a /merge among them (issue 18): count the tickets' messages


def load_chat_view(
    conn: Connection, keys: ChatKeys, since: datetime, periods: Iterable[str]
) -> View:
    t, r, p = schema.tickets, schema.replies, schema.posts
    view = View()
    refs: set[str] = set(keys.refs)
    if keys.customers:
        rows = conn.execute(
            select(t.c.ref, t.c.customer).where(
                t.c.channel == keys.channel,
                t.c.customer.in_(keys.customers),
                t.c.status == "open",
            )
        )
        view.open_by_customer = {row.customer: row.ref for row in rows}
        refs.update(view.open_by_customer.values())
        view.resolved_by_customer = last_resolved(
            conn, keys.channel, keys.customers - set(view.open_by_customer)
        )
        refs.update(view.resolved_by_customer.values())
    if keys.posts and keys.staff_chat is not None:
        rows = conn.execute(
            select(p.c.message_id, t.c.ref)
            .join(r, r.c.id == p.c.reply_id)
            .join(t, t.c.id == r.c.ticket_id)
            .where(
                p.c.channel == keys.channel,
                p.c.chat == str(keys.staff_chat),
                p.c.message_id.in_([str(m) for m in keys.posts]),
            )
        )
        view.ref_by_post = {int(row.message_id): row.ref for row in rows}
        refs.update(view.ref_by_post.values())
    if keys.threads:
        rows = conn.execute(
            select(r.c.thread, t.c.ref)
            .join(t, t.c.id == r.c.ticket_id)
            .where(
                r.c.channel == keys.channel,
                r.c.kind == STAFF_RELAY,
                r.c.thread.in_([str(m) for m in keys.threads]),
            )
        )
        view.ref_by_topic = {int(row.thread): row.ref for row in rows}
        refs.update(view.ref_by_topic.values())
    if refs:
        tickets = tickets_by_ref(conn, refs)
        view.tickets = with_targets(conn, {ref: info for ref, (_, info) in tickets.items()})
        if keys.merging:
            view.messages = message_counts(conn, refs)
        ids = {ref: row for ref, (row, _) in tickets.items()}
        answered = {*view.ref_by_post.values(), *view.ref_by_topic.values()}
        foreign = {
            ids[ref]: ref
            for ref in answered
            if ref in view.tickets and view.tickets[ref].channel != keys.channel
        }
        view.last_raw = last_messages(conn, foreign)
        view.existing_refs = set(view.tickets)
        rows = conn.execute(
            select(t.c.ref, r.c.thread)
            .join(r, r.c.ticket_id == t.c.id)
            .where(t.c.ref.in_(refs), r.c.kind == STAFF_RELAY, r.c.thread.is_not(None))
        )
        view.topic_by_ref = {row.ref: int(row.thread) for row in rows}
    if keys.surveys:
        found = survey_answers.load(conn, ids=keys.surveys)
        view.surveys = {i: info for i, info in found.items() if info.channel == keys.channel}
    if keys.replied:
        posts = [str(m) for m in keys.replied]
        found = survey_answers.load(conn, posts=posts, channel=keys.channel)
        view.survey_posts = {info.post: info for info in found.values() if info.post}
    view.recent_replies = recent_replies(conn, keys.customers, since)
    view.closed_replies = closed_replies(conn, keys.customers, periods)
    view.histories = contact_histories(conn, keys.customers, keys.channel, refs)
    return view


def last_resolved(conn: Connection, channel: str, customers: Iterable[str]) -> dict[str, str]:
    """Each customer's latest resolved ticket on the channel, by customer: a message from
    one with none open may reopen it, or open a new one that names it (issue 18)."""
    t = schema.tickets
    if not (wanted := list(customers)):
        return {}
    latest = (
        select(func.max(t.c.id))
        .where(t.c.channel == channel, t.c.customer.in_(wanted), t.c.status == "resolved")
        .group_by(t.c.customer)
    )
    rows = conn.execute(select(t.c.customer, t.c.ref).where(t.c.id.in_(latest)))
    return {row.customer: row.ref for row in rows}


def last_messages(conn: Connection, tickets: dict[int, str]) -> dict[str, tuple[str, bytes]]:
    """Each ticket's last customer message as recorded, and the channel it came in on (a
    web chat visitor may go on by email), by reference: what an answer from another
    channel's staff desk threads under."""
    if not tickets:
        return {}
    i = schema.inbound
    latest = (
        select(func.max(i.c.id))
        .where(i.c.ticket_id.in_(list(tickets)), i.c.outcome.in_(CUSTOMER_OUTCOMES))
        .group_by(i.c.ticket_id)
    )
    rows = conn.execute(select(i.c.ticket_id, i.c.channel, i.c.raw).where(i.c.id.in_(latest)))
    return {tickets[row.ticket_id]: (row.channel, bytes(row.raw)) for row in rows}
