"""`responder contact`: one person's identities and tickets across channels (issue 18), and
`responder contact link`, which makes two identities one person."""

from __future__ import annotations

from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import Connection, select

from responder.core.contacts import (
    KIND_BY_CHANNEL,
    Identity,
    by_staff,
    identity_of,
    parse_identity,
    shown,
)
from responder.domain.records import MERGED
from responder.errors import ResponderError
from responder.storage import schema
from responder.storage.contacts import apply_link, contact_of

Kinds = dict[str, str]  # channel name -> its type (email, telegram, whatsapp, webchat)


class UnknownContact(ResponderError):
    """Nobody known by that identity or reference."""


def read_contact(conn: Connection, typed: str, kinds: Kinds) -> dict[str, Any]:
    """The contact behind what the admin typed, with its identities and every ticket."""
    identity, refs = resolve(conn, typed, kinds)
    t, ci, s = schema.tickets, schema.contact_identities, schema.surveys
    contact = contact_of(conn, identity)
    if contact is not None:
        where = [t.c.contact_id == contact]
    else:
        # Opened before contacts existed: its customer's tickets on the channel are theirs.
        first = conn.execute(select(t.c.channel, t.c.customer).where(t.c.ref == refs[0])).one()
        where = [t.c.channel == first.channel, t.c.customer == first.customer]
    identities: list[dict[str, Any]] = [
        {"kind": identity.kind, "value": shown(identity), "how": "seen", "since": None}
    ]
    name = ""
    if contact is not None:
        c = schema.contacts
        name = conn.execute(select(c.c.name).where(c.c.id == contact)).scalar() or ""
        identities = [
            {
                "kind": row.kind,
                "value": shown(Identity(row.kind, row.value)),
                "how": row.how,
                "since": row.created_at.isoformat(),
            }
            for row in conn.execute(
                select(ci.c.kind, ci.c.value, ci.c.how, ci.c.created_at)
                .where(ci.c.contact_id == contact)
                .order_by(ci.c.id)
            )
        ]
    tickets = [
        {
            "ref": row.ref,
            "channel": row.channel,
            "created_at": row.created_at.isoformat(),
            "subject": row.subject,
            "status": row.status,
            "rating": row.rating,
        }
        for row in conn.execute(
            select(t.c.ref, t.c.channel, t.c.created_at, t.c.subject, t.c.status, s.c.rating)
            .outerjoin(s, s.c.ticket_id == t.c.id)
            # A merged duplicate is part of the ticket it joined (issue 18's /merge).
            .where(*where, t.c.status != MERGED)
            .order_by(t.c.created_at, t.c.id)
        )
    ]
    return {"contact": contact, "name": name, "identities": identities, "tickets": tickets}


def link(conn: Connection, first: str, second: str, kinds: Kinds, now: datetime) -> dict[str, Any]:
    """Two identities (or tickets' customers) become one contact; returns it as read."""
    a, refs_a = resolve(conn, first, kinds)
    b, refs_b = resolve(conn, second, kinds)
    found = by_staff(a, b, refs_a + refs_b)
    if found is not None:
        apply_link(conn, found, now)
    return read_contact(conn, first, kinds)


def resolve(conn: Connection, typed: str, kinds: Kinds) -> tuple[Identity, tuple[str, ...]]:
    """An identity, and the ticket that made it known if it is not an identity yet."""
    parsed = parse_identity(typed)
    t = schema.tickets
    if parsed is None:
        raise UnknownContact(
            f"{typed!r} is not an email address, +number, tg:ID, web:ID or ticket reference"
        )
    if isinstance(parsed, str):
        row = conn.execute(select(t.c.channel, t.c.customer).where(t.c.ref == parsed)).first()
        identity = identity_of(kinds.get(row.channel, ""), row.customer) if row else None
        if identity is None:
            raise UnknownContact(f"no ticket #{parsed} on a configured channel")
        return identity, (parsed,)
    if contact_of(conn, parsed) is not None:
        return parsed, ()
    channels = [name for name, kind in kinds.items() if KIND_BY_CHANNEL.get(kind) == parsed.kind]
    values = {parsed.value, parsed.value.lstrip("+")}
    row = conn.execute(
        select(t.c.ref)
        .where(t.c.channel.in_(channels), t.c.customer.in_(values))
        .order_by(t.c.id.desc())
    ).first()
    if row is None:
        raise UnknownContact(f"nobody known as {typed}")
    return parsed, (row.ref,)


def describe_contact(found: dict[str, Any], zone: ZoneInfo) -> str:
    """The contact as plain aligned text for a person."""
    title = f"Contact {found['contact']}" if found["contact"] is not None else "Customer"
    lines = [f"{title}  {found['name']}".rstrip(), "Identities:"]
    for item in found["identities"]:
        since = f"  since {_day(item['since'], zone)}" if item["since"] else ""
        lines.append(f"  {item['kind']:<9} {item['value']:<32} {item['how']:<6}{since}".rstrip())
    lines.append(f"Tickets: {len(found['tickets'])}")
    for ticket in found["tickets"]:
        rated = f"rated {ticket['rating']}/5" if ticket["rating"] else ""
        subject = (
            ticket["subject"] if len(ticket["subject"]) <= 40 else ticket["subject"][:39] + "…"
        )
        lines.append(
            f"  {_day(ticket['created_at'], zone, True)}  #{ticket['ref']:<8} "
            f"{ticket['channel']:<12} {ticket['status']:<9} {subject:<40} {rated}".rstrip()
        )
    return "\n".join(lines) + "\n"


def _day(value: str, zone: ZoneInfo, time: bool = False) -> str:
    at = datetime.fromisoformat(value).astimezone(zone)
    return f"{at:%Y-%m-%d %H:%M}" if time else f"{at:%Y-%m-%d}"
