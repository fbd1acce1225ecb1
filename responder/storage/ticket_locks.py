"""Tickets held for one unit of work, so two daemons sharing a database record decisions on the
same ticket one after the other (issue 19): follow-ups, staff replies, /merge, /close."""

from __future__ import annotations

from collections.abc import Collection, Sequence

from sqlalchemy import Connection, select, update

from responder.storage import schema


def lock_tickets(conn: Connection, ticket_ids: Collection[int]) -> None:
    """Hold the tickets' rows until the transaction ends: another daemon's decision on one of
    them waits for this one's commit, then sees it.

    PostgreSQL: SELECT ... FOR UPDATE, in id order so two daemons locking overlapping sets
    cannot deadlock. SQLite: nothing to do. Its one write lock, taken at a unit's first write
    and held to the commit, already serialises every writer, and SQLite's compiler drops FOR
    UPDATE (tests/test_shared_database.py checks both).
    """
    if not ticket_ids or conn.dialect.name == "sqlite":
        return
    t = schema.tickets
    conn.execute(
        select(t.c.id).where(t.c.id.in_(sorted(ticket_ids))).order_by(t.c.id).with_for_update()
    ).all()


def claim_inbound(conn: Connection, inbound_ids: Sequence[int]) -> set[int]:
    """Take the messages still to be decided for this unit of work; those another daemon
    decided meanwhile are left out (decided once, whichever daemon read them).

    An UPDATE, not a SELECT: on SQLite it is the write that takes the write lock (a SELECT
    before it would read outside the transaction); on PostgreSQL it waits for a concurrent
    claim of the same row and then finds it no longer `new`. The rest of the row is written
    with the outcome, in the same transaction.
    """
    if not inbound_ids:
        return set()
    i = schema.inbound
    rows = conn.execute(
        update(i)
        .where(i.c.id.in_(sorted(set(inbound_ids))), i.c.state == "new")
        .values(state="done")
        .returning(i.c.id)
    )
    return {row.id for row in rows}
