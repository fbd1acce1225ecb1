"""Forgetting one person (issue 18): their texts and identities erased from every table, the
rows, times, states and numbers kept so reports stay true. What counts as theirs is decided
in core/forget.py; this reads and writes it, in the caller's transaction."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, fields
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, Select, delete, func, or_, select, update

from responder.core.forget import (
    ERASED,
    REASON,
    customer_actor,
    erased_text,
    names_them,
    placeholder,
)
from responder.storage import schema
from responder.storage.retention import is_text_event

_LIVE_TIMERS = ("pending", "paused")


@dataclass(frozen=True)
class Person:
    """Who is forgotten: their contact (None for tickets older than contacts), tickets,
    identities, and every value that names them (`exact`: addresses as stored; `words`:
    also names, for texts that quote them)."""

    contact: int | None
    tickets: tuple[int, ...]
    identities: tuple[int, ...]
    exact: frozenset[str]
    words: frozenset[str]


@dataclass(frozen=True)
class ForgetCounts:
    """What a forget erased (or, dry, would erase), by kind."""

    tickets: int = 0
    messages: int = 0
    replies: int = 0
    texts: int = 0  # staff replies, notes, event details and who wrote them
    comments: int = 0
    files: int = 0
    identities: int = 0

    def as_dict(self) -> dict[str, int]:
        return {f.name: int(getattr(self, f.name)) for f in fields(self)}


def find_person(
    conn: Connection, contact: int | None, channel: str = "", customer: str = ""
) -> Person:
    """The person behind a contact, or behind a customer on a channel when they have none."""
    t, ci, c, e = schema.tickets, schema.contact_identities, schema.contacts, schema.ticket_events
    where = t.c.contact_id == contact
    if contact is None:
        where = (t.c.channel == channel) & (t.c.customer == customer)
    rows = conn.execute(select(t.c.id, t.c.customer, t.c.customer_name).where(where)).all()
    tickets = tuple(sorted(row.id for row in rows))
    values = {row.customer for row in rows}
    names = {row.customer_name for row in rows}
    identities: tuple[int, ...] = ()
    if contact is not None:
        found = conn.execute(select(ci.c.id, ci.c.value).where(ci.c.contact_id == contact)).all()
        identities = tuple(row.id for row in found)
        values |= {row.value for row in found}
        names.add(conn.execute(select(c.c.name).where(c.c.id == contact)).scalar() or "")
    if tickets:
        # An address left in the web chat's offline form, whether or not it became an identity.
        left = select(e.c.detail).where(e.c.ticket_id.in_(tickets), e.c.kind == "email_left")
        values |= {d for d in conn.execute(left).scalars() if d}
    exact: set[str] = set()
    for value in values:
        for form in (value, value.lower(), value.lstrip("+"), value.removeprefix("web:")):
            if form:
                exact.add(form)
    words = {w for w in (*exact, *names) if len(w.strip()) >= 2}
    return Person(contact, tickets, identities, frozenset(exact), frozenset(words))


def forget(
    conn: Connection, person: Person, log_id: int | None, *, dry_run: bool = False
) -> ForgetCounts:
    """Erase the person; log_id names the forget_log row their placeholder points to."""
    who = placeholder(log_id or 0)
    ids = list(person.tickets)
    exact = list(person.exact)
    i, r = schema.inbound, schema.replies
    inbound = _ids(
        conn,
        select(i.c.id, i.c.sender).where(
            i.c.state != "new", or_(i.c.ticket_id.in_(ids), func.lower(i.c.sender).in_(exact))
        ),
    )
    replies = _ids(
        conn,
        select(r.c.id).where(
            or_(
                r.c.ticket_id.in_(ids),
                func.lower(r.c.recipient).in_(exact),
                r.c.inbound_id.in_(inbound),
            )
        ),
    )
    f = schema.chat_files
    keys = [f"r{n}" for n in replies]
    files = _ids(conn, select(f.c.id).where(or_(f.c.visitor.in_(exact), f.c.key.in_(keys))))
    texts = _events(conn, person, who, dry_run)
    comments = _surveys(conn, ids, who, dry_run)
    counts = ForgetCounts(
        len(ids), len(inbound), len(replies), texts, comments, len(files), len(person.identities)
    )
    if dry_run:
        return counts
    t = schema.tickets
    conn.execute(
        update(t)
        .where(t.c.id.in_(ids))
        .values(customer=who, customer_name="", subject="", contact_id=None)
    )
    for n in inbound:
        # external_id too: a mail's Message-ID, a visitor's id, a WhatsApp wamid (the number
        # inside); unique per row, so intake's duplicate check still holds.
        conn.execute(
            update(i)
            .where(i.c.id == n)
            .values(raw=b"", subject="", last_error=None, external_id=f"{who}/{n}")
        )
    conn.execute(
        update(i).where(i.c.id.in_(inbound), func.lower(i.c.sender).in_(exact)).values(sender=who)
    )
    for n in replies:
        mine = r.c.id == n
        conn.execute(update(r).where(mine).values(message=b""))
        # Unique per row: one message's replies to two of their identities stay two rows.
        conn.execute(
            update(r)
            .where(mine, func.lower(r.c.recipient).in_(exact))
            .values(recipient=f"{who}/{n}")
        )
        conn.execute(update(r).where(mine, r.c.last_error.is_not(None)).values(last_error=ERASED))
    # Nobody can be reached any more: what was still to go stays unsent, with the reason.
    conn.execute(
        update(r)
        .where(r.c.id.in_(replies), r.c.state == "pending")
        .values(state="parked", next_attempt_at=None, last_error=REASON)
    )
    s = schema.suppressions
    conn.execute(
        update(s)
        .where(or_(s.c.inbound_id.in_(inbound), func.lower(s.c.sender).in_(exact)))
        .values(sender=None, reason=ERASED)
    )
    conn.execute(delete(schema.posts).where(schema.posts.c.reply_id.in_(replies)))
    conn.execute(delete(schema.thread_ids).where(schema.thread_ids.c.ticket_id.in_(ids)))
    conn.execute(delete(schema.blocked).where(schema.blocked.c.recipient.in_(exact)))
    conn.execute(delete(f).where(f.c.id.in_(files)))
    timers = schema.timers
    # SLA alerts about someone nobody can answer any more; auto-close still closes the ticket.
    conn.execute(
        update(timers)
        .where(
            timers.c.ticket_id.in_(ids),
            timers.c.clock != "close",
            timers.c.state.in_(_LIVE_TIMERS),
        )
        .values(state="skipped", due_at=None)
    )
    ci, c = schema.contact_identities, schema.contacts
    conn.execute(delete(ci).where(ci.c.id.in_(person.identities)))
    if person.contact is not None:
        conn.execute(delete(c).where(c.c.id == person.contact))
    return counts


def log_forget(conn: Connection, at: datetime, user: str) -> int:
    """A forget_log row, counts filled in by finish_log once known."""
    fl = schema.forget_log
    zero = {name: 0 for name in ForgetCounts().as_dict()}
    row = fl.insert().values(forgotten_at=at, by_user=user[:64], **zero).returning(fl.c.id)
    return int(conn.execute(row).scalar_one())


def finish_log(conn: Connection, log_id: int, counts: ForgetCounts) -> None:
    fl = schema.forget_log
    conn.execute(update(fl).where(fl.c.id == log_id).values(**counts.as_dict()))


def _ids(conn: Connection, query: Select[Any]) -> list[int]:
    return [int(row[0]) for row in conn.execute(query)]


def _events(conn: Connection, person: Person, who: str, dry_run: bool) -> int:
    e = schema.ticket_events
    rows = conn.execute(
        select(e.c.id, e.c.kind, e.c.actor, e.c.detail).where(e.c.ticket_id.in_(person.tickets))
    ).all()
    changed = 0
    for row in rows:
        values: dict[str, str | None] = {}
        if is_text_event(row.kind) and row.detail and not row.detail.startswith(ERASED):
            values["detail"] = erased_text(row.detail)
        if row.actor != who and (
            customer_actor(row.kind, row.detail) or names_them(row.actor, person.words)
        ):
            values["actor"] = who
        if values:
            changed += 1
            if not dry_run:
                conn.execute(update(e).where(e.c.id == row.id).values(**values))
    return changed


def _surveys(conn: Connection, tickets: Sequence[int], who: str, dry_run: bool) -> int:
    s = schema.surveys
    with_comment = (s.c.comment.is_not(None)) & (s.c.comment != "") & (s.c.comment != ERASED)
    mine = s.c.ticket_id.in_(tickets)
    count = conn.execute(select(func.count()).where(mine, with_comment)).scalar_one()
    if not dry_run:
        conn.execute(update(s).where(mine, with_comment).values(comment=ERASED))
        conn.execute(update(s).where(mine).values(recipient=who))
        # Never asked now: cancelled surveys are not counted, and replanning keeps them so.
        conn.execute(
            update(s).where(mine, s.c.state == "planned").values(state="cancelled", reason=REASON)
        )
    return int(count)
