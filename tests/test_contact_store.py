"""Contacts as stored (issue 18): a link merges two people and loses nothing; an address left
in the web chat that nobody wrote from yet becomes one of the visitor's identities."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import testdb
from sqlalchemy import Connection, insert, select

from responder.core.contacts import Identity, by_staff, email_left, seen
from responder.storage import schema
from responder.storage.contact_history import contact_histories
from responder.storage.contacts import apply_link
from responder.storage.store import Store

NOW = datetime(2026, 12, 1, 9, tzinfo=UTC)


def _ticket(conn: Connection, ref: str, channel: str, customer: str) -> None:
    conn.execute(
        insert(schema.tickets).values(
            ref=ref,
            channel=channel,
            customer=customer,
            customer_name="",
            subject=f"about {ref}",
            language="id",
            status="open",
            created_at=NOW,
            updated_at=NOW,
        )
    )


def _identities(conn: Connection) -> list[tuple[int, str, str, str]]:
    ci = schema.contact_identities
    rows = conn.execute(select(ci.c.contact_id, ci.c.kind, ci.c.value, ci.c.how).order_by(ci.c.id))
    return [(r.contact_id, r.kind, r.value, r.how) for r in rows]


def scenario(conn: Connection) -> None:
    # A ticket from before contacts existed, then a new one for the same mail customer: both
    # become the contact's.
    _ticket(conn, "OLD1", "mail", "budi@example.com")
    _ticket(conn, "MAIL2", "mail", "budi@example.com")
    link = seen("email", "budi@example.com", "MAIL2", "Budi")
    assert link is not None
    mail = apply_link(conn, link, NOW)
    _ticket(conn, "WEB1", "web", "web:v-1")
    visitor = seen("webchat", "web:v-1", "WEB1", "")
    assert visitor is not None
    web = apply_link(conn, visitor, NOW)
    assert web != mail
    # The visitor leaves an address nobody wrote from: it is theirs now, linked by itself.
    left = email_left("webchat", "web:v-1", "dewi@example.com", "WEB1")
    assert left is not None and apply_link(conn, left, NOW) == web
    # Staff say the visitor is Budi: one contact, the older, with every identity and ticket.
    linked = by_staff(Identity("web", "web:v-1"), Identity("email", "budi@example.com"))
    assert linked is not None and apply_link(conn, linked, NOW) == mail
    assert _identities(conn) == [
        (mail, "email", "budi@example.com", "seen"),
        (mail, "web", "web:v-1", "seen"),
        (mail, "email", "dewi@example.com", "auto"),
    ]
    t = schema.tickets
    assert {r.contact_id for r in conn.execute(select(t.c.contact_id))} == {mail}
    assert [r.name for r in conn.execute(select(schema.contacts.c.name))] == ["Budi"]
    # What deciding reads: the visitor's history has all three tickets; the left address,
    # which never wrote, finds the same contact.
    found = contact_histories(conn, ["web:v-1"], "web")["web:v-1"]
    assert found.count == 3 and {p.ref for p in found.tickets} == {"OLD1", "MAIL2", "WEB1"}
    assert contact_histories(conn, ["Dewi@example.com"], None)["Dewi@example.com"] == found


async def test_a_link_merges_two_contacts_and_an_address_left_becomes_an_identity(
    tmp_path: Path,
) -> None:
    store = Store(testdb.url(tmp_path / "state" / "responder.db"))
    await store.open()
    try:
        await store.run(scenario)
    finally:
        await store.close()
