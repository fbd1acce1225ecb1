"""Inbound rows and intake cursors: recorded with the cursor, read for deciding."""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import Connection, bindparam, func, select, update

from responder.domain.models import Cursor, Failing, InboundMessage
from responder.domain.records import InboundRow
from responder.storage import schema
from responder.storage.bulk import insert_new
from responder.storage.upsert import insert_or_update

EXTERNAL_ID_LENGTH = 400  # inbound.external_id


def cursor(conn: Connection, key: str) -> tuple[Cursor, datetime] | None:
    c = schema.cursors
    row = conn.execute(select(c).where(c.c.channel == key)).first()
    if row is None:
        return None
    return Cursor(row.validity, row.position), row.updated_at


def record(
    conn: Connection,
    channel: str,
    batch: Sequence[InboundMessage],
    position: Cursor | None,
    key: str,
    now: datetime,
    owner: str | None,
) -> list[int]:
    """Record new messages, `owner`'s to decide (storage.claims), and advance the cursor;
    skip ones seen before.

    Dedupe is by (channel, external_id), so a UIDVALIDITY re-sync or a re-fetch after a
    crash never makes a second row for the same message.
    """
    # One multi-row statement for the batch, the ids back in order: ON CONFLICT skips what
    # was recorded before, by this daemon or another on the same database (issue 19), in the
    # statement itself. Values as parameters, not .values(): SQLAlchemy's statement cache
    # keeps the first statement it compiled, and with it that message's bytes, for good.
    fresh: dict[str, InboundMessage] = {}
    for message in batch:
        fresh.setdefault(stored_id(message.external_id), message)  # the first of repeats
    rows = [
        {
            "channel": channel,
            "external_id": external_id,
            "raw": message.raw,
            "received_at": message.received_at,
            "recorded_at": now,
            "state": "new",
            "owner": owner,
        }
        for external_id, message in fresh.items()
    ]
    ids = [i for i in insert_new(conn, schema.inbound, ("channel", "external_id"), rows) if i]
    if position is not None:
        save_cursor(conn, key, position, now)
    return ids


def stored_id(external_id: str) -> str:
    """The provider's id as the row keeps it: whole when it fits the column, else a digest
    of it (as mail without a Message-ID gets), the same for every repeat, so a crafted or
    future longer id is still recorded once rather than refused by PostgreSQL (issue 19).
    NUL goes first, as the column would take it out: the id read back must match."""
    external_id = external_id.replace("\x00", "")
    if len(external_id) <= EXTERNAL_ID_LENGTH:
        return external_id
    return "sha256:" + hashlib.sha256(external_id.encode()).hexdigest()


def save_cursor(conn: Connection, key: str, position: Cursor, now: datetime) -> None:
    table = schema.cursors
    values = {"validity": position.validity, "position": position.position, "updated_at": now}
    stmt = insert_or_update(conn, table, ("channel",), tuple(values))
    conn.execute(stmt, {"channel": key, **values})


def pending(conn: Connection) -> list[int]:
    i = schema.inbound
    return list(conn.execute(select(i.c.id).where(i.c.state == "new").order_by(i.c.id)).scalars())


def note_undecided(conn: Connection, failing: Sequence[Failing]) -> None:
    """How often these messages failed to be decided, and why last, for `status`."""
    if not failing:
        return
    t = schema.inbound
    conn.execute(
        update(t)
        .where(t.c.id == bindparam("b_id"))
        .values(attempts=bindparam("b_attempts"), last_error=bindparam("b_error")),
        [{"b_id": f.inbound_id, "b_attempts": f.attempts, "b_error": f.error} for f in failing],
    )


def many(conn: Connection, ids: Sequence[int], prefix: int | None) -> list[InboundRow]:
    """The messages among `ids` still to be decided, in arrival order; with `prefix`, only
    that many bytes of each message (the rest, attachments, is left in the database)."""
    t = schema.inbound
    raw = t.c.raw if prefix is None else func.substr(t.c.raw, 1, prefix, type_=t.c.raw.type)
    columns = (t.c.id, t.c.channel, t.c.external_id, raw.label("raw"), t.c.received_at)
    rows = conn.execute(
        select(*columns, t.c.state, t.c.ticket_id)
        .where(t.c.id.in_(list(ids)), t.c.state == "new")
        .order_by(t.c.id)
    )
    return [
        InboundRow(r.id, r.channel, r.external_id, r.raw, r.received_at, r.state, r.ticket_id)
        for r in rows
    ]


def sizes(conn: Connection, ids: Sequence[int]) -> list[tuple[int, int]]:
    """(id, bytes) of the messages among `ids` still to be decided, in arrival order, so
    they can be loaded in runs bounded by bytes; length() reads no message content."""
    t = schema.inbound
    rows = conn.execute(
        select(t.c.id, func.length(t.c.raw))
        .where(t.c.id.in_(list(ids)), t.c.state == "new")
        .order_by(t.c.id)
    )
    return [(r[0], r[1] or 0) for r in rows]


def first_of(conn: Connection, ticket_ids: Sequence[int]) -> dict[int, int]:
    """Each ticket's first message (SLA alerts and survey notices are filed under it)."""
    i = schema.inbound
    if not ticket_ids:
        return {}
    rows = conn.execute(
        select(i.c.ticket_id, func.min(i.c.id).label("first"))
        .where(i.c.ticket_id.in_(list(ticket_ids)))
        .group_by(i.c.ticket_id)
    )
    return {row.ticket_id: row.first for row in rows}


def raw_of(conn: Connection, ids: Sequence[int]) -> dict[int, tuple[str, bytes]]:
    """(channel, raw message) of the messages `ids`."""
    i = schema.inbound
    if not ids:
        return {}
    rows = conn.execute(select(i.c.id, i.c.channel, i.c.raw).where(i.c.id.in_(list(ids))))
    return {r.id: (r.channel, r.raw) for r in rows}
