"""`responder forget IDENTITY`: a person's texts and identities erased on request (issue 18;
UU PDP 27/2022, GDPR article 17), keeping every row, time and number the reports count."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Connection, select

from responder.core.contacts import Identity, shown
from responder.core.forget import placeholder
from responder.ops.contact import Kinds, resolve
from responder.storage import schema
from responder.storage.contacts import contact_of
from responder.storage.forget import Person, find_person, finish_log, forget, log_forget

# The kinds a forget counts, in the words it prints them with.
KINDS = {
    "tickets": "ticket(s) made anonymous",
    "messages": "incoming message(s)",
    "replies": "reply(ies) and staff post(s)",
    "texts": "staff text(s) and event detail(s)",
    "comments": "survey comment(s)",
    "files": "web chat file(s)",
    "identities": "identity(ies)",
}


def _person(conn: Connection, typed: str, kinds: Kinds) -> Person:
    identity, refs = resolve(conn, typed, kinds)
    contact = contact_of(conn, identity)
    if contact is not None:
        return find_person(conn, contact)
    # Tickets opened before contacts existed: their customer's on that channel are theirs.
    t = schema.tickets
    first = conn.execute(select(t.c.channel, t.c.customer).where(t.c.ref == refs[0])).one()
    return find_person(conn, None, first.channel, first.customer)


def _refs(conn: Connection, person: Person) -> list[str]:
    t = schema.tickets
    query = select(t.c.ref).where(t.c.id.in_(person.tickets)).order_by(t.c.id)
    return list(conn.execute(query).scalars())


def preview(conn: Connection, typed: str, kinds: Kinds) -> dict[str, Any]:
    """What forgetting them would erase, changing nothing: for the admin to confirm."""
    person = _person(conn, typed, kinds)
    ci = schema.contact_identities
    rows = conn.execute(
        select(ci.c.kind, ci.c.value).where(ci.c.id.in_(person.identities)).order_by(ci.c.id)
    )
    return {
        "contact": person.contact,
        "identities": [shown(Identity(row.kind, row.value)) for row in rows] or [typed],
        "tickets": _refs(conn, person),
        "erased": forget(conn, person, None, dry_run=True).as_dict(),
    }


def run_forget(
    conn: Connection, typed: str, kinds: Kinds, now: datetime, user: str
) -> dict[str, Any]:
    """Forget them in this one transaction; what was erased, without who it was."""
    person = _person(conn, typed, kinds)
    log_id = log_forget(conn, now, user)
    counts = forget(conn, person, log_id)
    finish_log(conn, log_id, counts)
    return {
        "forgotten": placeholder(log_id),
        "log": log_id,
        "tickets": _refs(conn, person),
        "erased": counts.as_dict(),
    }


def describe_preview(found: dict[str, Any]) -> str:
    lines = [
        "Forgetting " + ", ".join(found["identities"]) + " erases:",
        *_counts(found["erased"]),
        "Kept: every ticket's reference, times, status, channel, rating and SLA facts, so "
        "`responder report` stays the same.",
    ]
    if found["tickets"]:
        lines.insert(1, "  tickets " + " ".join(f"#{ref}" for ref in found["tickets"]))
    return "\n".join(lines) + "\n"


def describe_result(found: dict[str, Any]) -> str:
    head = f"forgotten: now {found['forgotten']} (forget log {found['log']}); erased:"
    return "\n".join([head, *_counts(found["erased"])]) + "\n"


def counted(erased: dict[str, int]) -> str:
    """The counts on one line, for the log."""
    return ", ".join(f"{erased[kind]} {words}" for kind, words in KINDS.items())


def _counts(erased: dict[str, int]) -> list[str]:
    return [f"  {erased[kind]:>5} {words}" for kind, words in KINDS.items()]
