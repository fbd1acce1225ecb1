"""Reading contacts' tickets for deciding (issue 18): the history staff see with a notice."""

from __future__ import annotations

from collections.abc import Iterable

from sqlalchemy import Connection, func, select

from responder.core.contacts import Identity
from responder.core.history import HISTORY_TICKETS, History, PastTicket
from responder.domain.records import MERGED
from responder.storage import schema


def contact_histories(
    conn: Connection,
    customers: Iterable[str],
    channel: str | None,
    refs: Iterable[str] = (),
) -> dict[str, History]:
    """Each customer's contact with its last tickets, by customer; and by "#REF" for the
    tickets named. `channel` None: customers are email addresses, the same in every mailbox."""
    t, ci = schema.tickets, schema.contact_identities
    customers, refs = list(customers), list(refs)
    by_key: dict[str, int] = {}
    if customers:
        query = select(t.c.customer, t.c.contact_id).where(
            t.c.customer.in_(customers), t.c.contact_id.is_not(None)
        )
        if channel is not None:
            query = query.where(t.c.channel == channel)
        by_key.update({row.customer: row.contact_id for row in conn.execute(query)})
        if channel is None:
            # An address linked before it ever opened a ticket (left in the web chat).
            lower = {c.lower(): c for c in customers}
            rows = conn.execute(
                select(ci.c.value, ci.c.contact_id).where(
                    ci.c.kind == "email", ci.c.value.in_(list(lower))
                )
            )
            for row in rows:
                by_key.setdefault(lower[row.value], row.contact_id)
    if refs:
        rows = conn.execute(
            select(t.c.ref, t.c.contact_id).where(t.c.ref.in_(refs), t.c.contact_id.is_not(None))
        )
        by_key.update({f"#{row.ref}": row.contact_id for row in rows})
    found = histories(conn, set(by_key.values()))
    return {key: found[contact] for key, contact in by_key.items() if contact in found}


def histories(conn: Connection, contacts: set[int]) -> dict[int, History]:
    """Contacts by id: their identities, their newest tickets and how many in all."""
    if not contacts:
        return {}
    t, s, ci = schema.tickets, schema.surveys, schema.contact_identities
    ids = list(contacts)
    counts = {
        row.contact_id: int(row.n)
        for row in conn.execute(
            select(t.c.contact_id, func.count().label("n"))
            .where(t.c.contact_id.in_(ids), t.c.status != MERGED)
            .group_by(t.c.contact_id)
        )
    }
    newest: dict[int, list[PastTicket]] = {c: [] for c in ids}
    rows = conn.execute(
        select(
            t.c.contact_id,
            t.c.ref,
            t.c.channel,
            t.c.subject,
            t.c.created_at,
            t.c.status,
            s.c.rating,
        )
        .outerjoin(s, s.c.ticket_id == t.c.id)
        # A merged duplicate is part of the ticket it joined (issue 18's /merge).
        .where(t.c.contact_id.in_(ids), t.c.status != MERGED)
        .order_by(t.c.created_at.desc(), t.c.id.desc())
    )
    for row in rows:
        kept = newest[row.contact_id]
        if len(kept) <= HISTORY_TICKETS:
            kept.append(
                PastTicket(
                    row.ref, row.channel, row.subject, row.created_at, row.status, row.rating
                )
            )
    named: dict[int, list[Identity]] = {c: [] for c in ids}
    identities = conn.execute(
        select(ci.c.contact_id, ci.c.kind, ci.c.value)
        .where(ci.c.contact_id.in_(ids))
        .order_by(ci.c.id)
    )
    for item in identities:
        named[item.contact_id].append(Identity(item.kind, item.value))
    return {c: History(c, counts.get(c, 0), tuple(newest[c]), tuple(named[c])) for c in ids}
