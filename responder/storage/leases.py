"""The leases table (issue 19): take, renew, release and list, each a compare-and-set in the
caller's transaction, in SQLAlchemy Core that runs the same on SQLite and PostgreSQL."""

from __future__ import annotations

from collections.abc import Collection
from datetime import datetime, timedelta

from sqlalchemy import Connection, case, delete, insert, or_, select, update
from sqlalchemy.exc import IntegrityError

from responder.core.leases import PRESENCE, Lease, presence
from responder.storage import schema


def claim(
    conn: Connection,
    names: Collection[str],
    holder: str,
    info: str,
    now: datetime,
    ttl: timedelta,
    dead: Collection[str] = (),
) -> set[str]:
    """Take each of `names` that is free or run out, renew those `holder` holds; the ones it
    holds now, each until now + ttl. `dead`: holders known to be gone (a process of this
    machine that no longer runs), whose leases are taken at once.

    Two instances never both hold one: the UPDATE's WHERE is re-checked against the row as
    it is when the row is written (PostgreSQL re-reads a row another transaction changed
    under READ COMMITTED; SQLite has one writer at a time), and a lease seen for the first
    time is inserted, where the primary key lets only one of two racing instances in.
    """
    lease = schema.leases
    held: set[str] = set()
    for name in sorted(names):  # one order for everyone: no two claims wait on each other
        taken = conn.execute(
            update(lease)
            .where(
                lease.c.name == name,
                or_(
                    lease.c.holder == holder,
                    lease.c.holder.is_(None),
                    lease.c.holder.in_(list(dead)),
                    lease.c.expires_at <= now,
                ),
            )
            .values(
                # Acquired when it came to us, not at each renewal: status shows since when.
                acquired_at=case((lease.c.holder == holder, lease.c.acquired_at), else_=now),
                holder=holder,
                info=info,
                renewed_at=now,
                expires_at=now + ttl,
            )
        )
        first = taken.rowcount == 0 and _absent(conn, name)
        if taken.rowcount == 1 or (first and _insert(conn, name, holder, info, now, ttl)):
            held.add(name)
    # An instance's own presence row (core.leases.presence) goes once it has run out: the
    # leases table lists instances alive, not every process that ever ran.
    conn.execute(
        delete(lease).where(lease.c.name.like(f"{PRESENCE}%"), lease.c.expires_at <= now - ttl)
    )
    return held


def _absent(conn: Connection, name: str) -> bool:
    lease = schema.leases
    return conn.execute(select(lease.c.name).where(lease.c.name == name)).first() is None


def _insert(
    conn: Connection, name: str, holder: str, info: str, now: datetime, ttl: timedelta
) -> bool:
    """Insert a new lease as held; False when another instance inserted it first (in a
    savepoint, so the failed insert leaves the rest of the transaction standing)."""
    try:
        with conn.begin_nested():
            conn.execute(
                insert(schema.leases).values(
                    name=name,
                    holder=holder,
                    info=info,
                    acquired_at=now,
                    renewed_at=now,
                    expires_at=now + ttl,
                )
            )
    except IntegrityError:
        return False
    return True


def release(conn: Connection, names: Collection[str], holder: str, now: datetime) -> set[str]:
    """Let go of the leases among `names` that `holder` holds (a clean stop, or intake that
    stopped for good): another instance takes them at its next heartbeat instead of after the
    ttl. Its presence row, when named, goes: what it owned is anybody's now (storage.claims).
    Returns those released."""
    lease = schema.leases
    if presence(holder) in names:
        conn.execute(delete(lease).where(lease.c.name == presence(holder)))
    released = set()
    for name in sorted(names):
        result = conn.execute(
            update(lease)
            .where(lease.c.name == name, lease.c.holder == holder)
            .values(holder=None, expires_at=now)
        )
        if result.rowcount == 1:
            released.add(name)
    return released


def leases(conn: Connection) -> list[Lease]:
    """Every lease, by name (for `status`)."""
    lease = schema.leases
    rows = conn.execute(select(lease).order_by(lease.c.name))
    return [
        Lease(r.name, r.holder, r.info, r.acquired_at, r.renewed_at, r.expires_at) for r in rows
    ]
