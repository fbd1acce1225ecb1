"""Claiming work left by instances gone (issue 19): the pending replies and undecided messages
whose owner is nobody, or an instance whose presence lease has run out, become this instance's
in one statement that two instances cannot both win."""

from __future__ import annotations

from collections.abc import Collection
from datetime import datetime

from sqlalchemy import (
    ColumnElement,
    Connection,
    FromClause,
    Table,
    and_,
    exists,
    literal,
    or_,
    select,
    update,
)

from responder.core.leases import PRESENCE
from responder.domain.records import ReplyRow, reply_row
from responder.storage import schema

# Rows taken per statement: a backlog is claimed in several short transactions, each
# queued before the next is read, rather than one that holds the writer for long.
BATCH = 500


def replies(
    conn: Connection,
    me: str,
    now: datetime,
    dead: Collection[str] = (),
    limit: int = BATCH,
) -> list[ReplyRow]:
    """Take up to `limit` pending replies nobody sends (see _claim); the rows, by id."""
    r = schema.replies
    ids = _claim(conn, r, "pending", me, now, dead, limit)
    if not ids:
        return []
    rows = conn.execute(select(r).where(r.c.id.in_(ids)).order_by(r.c.id))
    return [reply_row(row) for row in rows]


def inbound(
    conn: Connection,
    me: str,
    now: datetime,
    dead: Collection[str] = (),
    limit: int = BATCH,
) -> list[int]:
    """Take up to `limit` messages still to be decided that nobody decides; their ids."""
    return _claim(conn, schema.inbound, "new", me, now, dead, limit)


def owned_replies(conn: Connection, ids: Collection[int], me: str) -> set[int]:
    """Of the replies `ids`, those still pending and `me`'s to send: the others were adopted
    by another instance while `me`'s presence ran out (or are no longer to send at all)."""
    r, wanted = schema.replies, sorted(set(ids))
    owned: set[int] = set()
    # In slices: a long outage may leave thousands held, and a statement's parameters are few.
    for start in range(0, len(wanted), BATCH):
        part = wanted[start : start + BATCH]
        rows = conn.execute(
            select(r.c.id).where(r.c.id.in_(part), r.c.state == "pending", r.c.owner == me)
        )
        owned.update(row.id for row in rows)
    return owned


def orphaned(
    table: FromClause, me: str, now: datetime, dead: Collection[str]
) -> ColumnElement[bool]:
    """A row nobody works on: its owner is None (a row from before owners), or another
    instance without a live presence row (released at its clean stop, or run out: killed,
    hung, cut off), or in `dead` (a process of this machine that no longer runs,
    core.leases.orphaned, taken before its presence row runs out)."""
    lease, owner = schema.leases, table.c.owner
    present = exists().where(
        lease.c.name == literal(PRESENCE) + owner,
        lease.c.holder == owner,
        lease.c.expires_at > now,
    )
    gone = or_(~present, owner.in_(list(dead))) if dead else ~present
    return or_(owner.is_(None), and_(owner != me, gone))


def _claim(
    conn: Connection,
    table: Table,
    state: str,
    me: str,
    now: datetime,
    dead: Collection[str],
    limit: int,
) -> list[int]:
    """Set owner = me on up to `limit` rows in `state` and orphaned; their ids.

    One UPDATE whose WHERE is checked on each row as it is written (a compare-and-set): on
    PostgreSQL the candidates are picked FOR UPDATE SKIP LOCKED, so a row another instance is
    claiming is left to it rather than waited for, and a row changed meanwhile is re-read
    under READ COMMITTED and left if it is no longer orphaned; SQLite has one writer at a
    time. A first read that finds nothing keeps an idle heartbeat from taking the writer.
    """
    orphans = and_(table.c.state == state, orphaned(table, me, now, dead))
    if conn.execute(select(table.c.id).where(orphans).limit(1)).first() is None:
        return []
    pick = table.alias("orphan")
    # A CTE, MATERIALIZED on PostgreSQL: run once. As `id IN (subquery)` the planner may run
    # the subquery again for rows it re-checks, and its LIMIT then picked more than `limit`
    # rows (seen: 4 of 4 with limit 3, after one of them had been updated).
    candidates = (
        select(pick.c.id)
        .where(pick.c.state == state, orphaned(pick, me, now, dead))
        .order_by(pick.c.id)
        .limit(limit)
        .with_for_update(skip_locked=True, of=pick)
        .cte("candidates")
        .prefix_with("MATERIALIZED", dialect="postgresql")
    )
    taken = conn.execute(
        update(table)
        .where(table.c.id.in_(select(candidates.c.id)), orphans)
        .values(owner=me)
        .returning(table.c.id)
    )
    return sorted(row.id for row in taken)
