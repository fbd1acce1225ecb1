"""Writing contacts (issue 18): identities seen with new tickets, and links, merging two
contacts into one. What to link is decided in core; this only writes it."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime

from sqlalchemy import Connection, delete, select, update

from responder.core.contacts import SEEN, ContactLink, Identity
from responder.core.outcome import Outcome
from responder.storage import schema
from responder.storage.upsert import insert_or_ignore


def record_contacts(conn: Connection, outcomes: Sequence[Outcome], now: datetime) -> None:
    """Every link a batch's outcomes carry, after their tickets are written."""
    for outcome in outcomes:
        for link in outcome.contacts:
            apply_link(conn, link, now)


def apply_link(conn: Connection, link: ContactLink, now: datetime) -> int:
    """The contact both identities belong to afterwards (the older of two merged)."""
    # The first identity is the one a ticket was opened for: seen, whatever links it.
    contact = ensure(conn, link.first, SEEN, link.name, now)
    if link.second is not None:
        other = contact_of(conn, link.second)
        if other is None and not _add_identity(conn, contact, link.second, link.how, now):
            other = contact_of(conn, link.second)  # another daemon recorded it meanwhile
        if other is not None and other != contact:
            contact = merge(conn, contact, other)
    _claim_tickets(conn, contact, link.refs)
    return contact


def contact_of(conn: Connection, identity: Identity) -> int | None:
    ci = schema.contact_identities
    found = conn.execute(
        select(ci.c.contact_id).where(ci.c.kind == identity.kind, ci.c.value == identity.value)
    ).scalar()
    return int(found) if found is not None else None


def ensure(conn: Connection, identity: Identity, how: str, name: str, now: datetime) -> int:
    """The identity's contact, made with it if it has none."""
    found = contact_of(conn, identity)
    if found is not None:
        return found
    c = schema.contacts
    contact = int(
        conn.execute(
            c.insert().values(name=name[:200], created_at=now).returning(c.c.id)
        ).scalar_one()
    )
    if _add_identity(conn, contact, identity, how, now):
        return contact
    # Another daemon on the same database gave the identity its contact first (issue 19):
    # that one it is, and the one made here goes unused.
    conn.execute(delete(c).where(c.c.id == contact))
    return contact_of(conn, identity) or contact


def merge(conn: Connection, first: int, second: int) -> int:
    """One contact of two: identities and tickets move to the older; nothing is lost."""
    keep, gone = min(first, second), max(first, second)
    c, ci, t = schema.contacts, schema.contact_identities, schema.tickets
    conn.execute(update(ci).where(ci.c.contact_id == gone).values(contact_id=keep))
    conn.execute(update(t).where(t.c.contact_id == gone).values(contact_id=keep))
    rows = conn.execute(select(c.c.id, c.c.name).where(c.c.id.in_([keep, gone])))
    names = {row.id: row.name for row in rows}
    if not names.get(keep) and names.get(gone):
        conn.execute(update(c).where(c.c.id == keep).values(name=names[gone]))
    conn.execute(delete(c).where(c.c.id == gone))
    return keep


def _add_identity(
    conn: Connection, contact: int, identity: Identity, how: str, now: datetime
) -> bool:
    """Whether the identity was added: False when it already belongs to a contact."""
    ci = schema.contact_identities
    stmt = insert_or_ignore(conn, ci, ("kind", "value")).returning(ci.c.id)
    row = {
        "contact_id": contact,
        "kind": identity.kind,
        "value": identity.value,
        "how": how,
        "created_at": now,
    }
    return conn.execute(stmt, row).first() is not None


def _claim_tickets(conn: Connection, contact: int, refs: Iterable[str]) -> None:
    """The named tickets, and their customers' earlier tickets on the same channel that have
    no contact yet (opened before contacts existed), become the contact's."""
    t = schema.tickets
    if not (refs := list(refs)):
        return
    pairs = conn.execute(select(t.c.channel, t.c.customer).where(t.c.ref.in_(refs))).all()
    for channel, customer in pairs:
        conn.execute(
            update(t)
            .where(t.c.channel == channel, t.c.customer == customer, t.c.contact_id.is_(None))
            .values(contact_id=contact)
        )
    conn.execute(
        update(t).where(t.c.ref.in_(refs), t.c.contact_id.is_(None)).values(contact_id=contact)
    )
