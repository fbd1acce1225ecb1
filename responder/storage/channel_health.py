"""Each channel's health as the daemon last saw it: written by the daemon when it changes (and
touched as a heartbeat), read by `responder status` from another process."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Connection, delete, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from responder.storage import schema

# The daemon touches its rows this often while it runs; rows older than STALE_AFTER mean it
# is not running (or is stuck), and `status` says the state is as last seen.
HEARTBEAT = timedelta(seconds=60)
STALE_AFTER = 3 * HEARTBEAT


@dataclass(frozen=True)
class HealthRow:
    channel: str
    state: str
    since: datetime
    problem: str | None = None
    remedy: str | None = None
    key: str | None = None


async def save_health(conn: AsyncConnection, rows: Sequence[HealthRow], now: datetime) -> None:
    """Replace every channel's row with `rows`: channels no longer configured go."""
    h = schema.channel_health
    await conn.execute(delete(h).where(h.c.channel.not_in([r.channel for r in rows])))
    known = set((await conn.execute(select(h.c.channel))).scalars())
    for row in rows:
        values = _values(row, now)
        if row.channel in known:
            await conn.execute(update(h).where(h.c.channel == row.channel).values(values))
        else:
            await conn.execute(h.insert().values(channel=row.channel, **values))


async def touch_health(conn: AsyncConnection, now: datetime) -> None:
    """The heartbeat: the rows still say how things are."""
    await conn.execute(update(schema.channel_health).values(updated_at=now))


async def stopped_health(conn: AsyncConnection, now: datetime) -> None:
    """The daemon stops: every channel is stopped from now; the last problem stays to read."""
    await conn.execute(
        update(schema.channel_health).values(state="stopped", since=now, updated_at=now)
    )


def read_health(conn: Connection) -> dict[str, dict[str, Any]]:
    """{channel: {state, since, problem, remedy, key, updated_at}} (a synchronous read)."""
    h = schema.channel_health
    return {row.channel: dict(row._mapping) for row in conn.execute(select(h))}


def _values(row: HealthRow, now: datetime) -> dict[str, Any]:
    return {
        "state": row.state,
        "since": row.since,
        "problem": row.problem,
        "remedy": row.remedy,
        "key": row.key,
        "updated_at": now,
    }
