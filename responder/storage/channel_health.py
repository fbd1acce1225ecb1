"""Each channel's health as the daemon last saw it: written by the daemon when it changes (and
touched as a heartbeat), read by `responder status` from another process."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Connection, delete, select, update

from responder.domain.records import HealthRow
from responder.storage import schema
from responder.storage.upsert import insert_or_update

# The daemon touches its rows this often while it runs; rows older than STALE_AFTER mean it
# is not running (or is stuck), and `status` says the state is as last seen.
HEARTBEAT = timedelta(seconds=60)
STALE_AFTER = 3 * HEARTBEAT


def save_health(conn: Connection, rows: Sequence[HealthRow], now: datetime) -> None:
    """Replace every channel's row with `rows`: channels no longer configured go."""
    h = schema.channel_health
    conn.execute(delete(h).where(h.c.channel.not_in([r.channel for r in rows])))
    if rows:
        # Inserted or replaced in one statement: another daemon on the same database may
        # have written the row since (issue 19).
        upsert = insert_or_update(conn, h, ("channel",), _COLUMNS)
        conn.execute(upsert, [{"channel": r.channel, **_values(r, now)} for r in rows])


def touch_health(conn: Connection, now: datetime) -> None:
    """The heartbeat: the rows still say how things are."""
    conn.execute(update(schema.channel_health).values(updated_at=now))


def stopped_health(conn: Connection, now: datetime) -> None:
    """The daemon stops: every channel is stopped from now; the last problem stays to read."""
    conn.execute(update(schema.channel_health).values(state="stopped", since=now, updated_at=now))


def read_health(conn: Connection) -> dict[str, dict[str, Any]]:
    """{channel: {state, since, problem, remedy, key, updated_at}} (a synchronous read)."""
    h = schema.channel_health
    return {row.channel: dict(row._mapping) for row in conn.execute(select(h))}


_COLUMNS = ("state", "since", "problem", "remedy", "key", "updated_at")


def _values(row: HealthRow, now: datetime) -> dict[str, Any]:
    return {
        "state": row.state,
        "since": row.since,
        "problem": row.problem,
        "remedy": row.remedy,
        "key": row.key,
        "updated_at": now,
    }
