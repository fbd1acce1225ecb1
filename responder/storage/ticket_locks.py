"""Tickets and chat conversations held for one unit of work, so two daemons sharing a database
record decisions on the same ticket, or a ticket for the same chat customer, one after the
other (issue 19): follow-ups, staff replies, /merge, /close, and a customer's first messages."""

from __future__ import annotations

import hashlib
from collections.abc import Collection, Sequence

from sqlalchemy import Connection, select, text, update

from responder.core.decisions import Suppress, Welcome
from responder.core.outcome import Outcome
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


def overtaken(conn: Connection, outcomes: Sequence[Outcome]) -> set[int]:
    """The messages among `outcomes` decided on a view another daemon has overtaken: each
    opens or reopens a ticket for a chat customer who had none open when the batch read its
    view, and who has one now. Their outcomes are not recorded; the dispatcher decides them
    again, and the fresh view then holds that ticket (issue 19: "Hi" to one instance and
    "order 123 missing" to the other, half a second apart, must make one ticket and one
    acknowledgement). Later outcomes of the batch on the same tickets go with them: they
    were decided after those.

    Called after claim_inbound, so on SQLite the unit already holds the one write lock and
    reads the latest commit; on PostgreSQL the conversations are locked first, and the read
    after the lock (READ COMMITTED: a snapshot per statement) sees the other's commit.
    """
    starting = {(o.channel, o.starts) for o in outcomes if o.starts is not None}
    if not starting:
        return set()
    _lock_conversations(conn, starting)
    t = schema.tickets
    rows = conn.execute(
        select(t.c.channel, t.c.customer).where(
            t.c.status == "open",
            t.c.channel.in_(sorted({channel for channel, _ in starting})),
            t.c.customer.in_(sorted({customer for _, customer in starting})),
        )
    )
    taken = {(row.channel, row.customer) for row in rows} & starting
    late: set[int] = set()
    refs: set[str] = set()
    for o in outcomes:
        decision = o.decision
        ref = None if isinstance(decision, Suppress | Welcome) else decision.ref
        named = {ref, *((o.merge.duplicate, o.merge.target) if o.merge else ())}
        if (o.channel, o.starts) in taken or refs & named:
            late.add(o.inbound_id)
            refs |= {ref} if ref else set()
    return late


def requeue(conn: Connection, inbound_ids: Collection[int]) -> None:
    """Undo claim_inbound for messages to be decided again. Their owner stays: the daemon
    deciding them, which does so at once (or another adopts them if it dies first)."""
    if inbound_ids:
        i = schema.inbound
        conn.execute(update(i).where(i.c.id.in_(sorted(inbound_ids))).values(state="new"))


def _lock_conversations(conn: Connection, keys: Collection[tuple[str, str]]) -> None:
    """PostgreSQL: a transaction-level advisory lock per (channel, customer), in key order
    so two daemons locking overlapping sets cannot deadlock; one statement for the batch.
    Two keys that share a hash only wait for each other. SQLite: its write lock does it."""
    if conn.dialect.name == "sqlite":
        return
    ordered = sorted({_key(channel, customer) for channel, customer in keys})
    # unnest yields the array in order, and each row's lock is taken as it is produced.
    conn.execute(
        text("SELECT pg_advisory_xact_lock(k) FROM unnest(CAST(:keys AS bigint[])) AS k"),
        {"keys": ordered},
    ).all()


def _key(channel: str, customer: str) -> int:
    """64 bits of the conversation, as pg_advisory_xact_lock takes them (a signed bigint)."""
    digest = hashlib.blake2b(f"{channel}\0{customer}".encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big", signed=True)
