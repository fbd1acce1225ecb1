"""Each channel's health as the daemon last saw it: written by the daemon when it changes (and
touched as a heartbeat), read by `responder status` from another process."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Connection, delete, or_, select, update

from responder.domain.records import HealthRow
from responder.storage import schema
from responder.storage.upsert import insert_or_update

# The daemon touches its rows this often while it runs; rows older than STALE_AFTER mean it
# is not running (or is stuck), and `status` says the state is as last seen.
HEARTBEAT = timedelta(seconds=60)
STALE_AFTER = 3 * HEARTBEAT


def save_health(conn: Connection, rows: Sequence[HealthRow], now: datetime, instance: str) -> None:
    """Replace `instance`'s row for every channel with `rows`: channels it no longer runs go,
    and so do the rows of instances stopped or silent for STALE_AFTER (a restart is a new
    instance: its old rows would pile up)."""
    h = schema.channel_health
    mine = h.c.instance == instance
    conn.execute(delete(h).where(mine, h.c.channel.not_in([r.channel for r in rows])))
    gone = or_(h.c.state == "stopped", h.c.updated_at < now - STALE_AFTER)
    conn.execute(delete(h).where(h.c.instance != instance, gone))
    if rows:
        # Inserted or replaced in one statement: this instance may have written it before.
        upsert = insert_or_update(conn, h, ("channel", "instance"), _COLUMNS)
        values = [{"channel": r.channel, "instance": instance, **_values(r, now)} for r in rows]
        conn.execute(upsert, values)


def touch_health(conn: Connection, now: datetime, instance: str) -> None:
    """The heartbeat: `instance`'s rows still say how things are."""
    h = schema.channel_health
    conn.execute(update(h).where(h.c.instance == instance).values(updated_at=now))


def stopped_health(conn: Connection, now: datetime, instance: str) -> None:
    """`instance` stops: its channels are stopped from now; the last problem stays to read."""
    h = schema.channel_health
    stopped = {"state": "stopped", "since": now, "updated_at": now}
    conn.execute(update(h).where(h.c.instance == instance).values(**stopped))


def read_health(conn: Connection, now: datetime) -> dict[str, dict[str, Any]]:
    """{channel: {state, since, problem, remedy, key, updated_at, instance, instances}}, the
    row of the instance that runs the channel (a synchronous read). With several instances
    on one database (issue 19), the ones standing by for a lease say `standby`; the holder's
    row is the channel's state, and a failure anywhere shows before a success elsewhere."""
    rows: dict[str, list[dict[str, Any]]] = {}
    for row in conn.execute(select(schema.channel_health)):
        rows.setdefault(row.channel, []).append(dict(row._mapping))
    shown = {}
    for channel, views in rows.items():
        best = max(views, key=lambda v: _rank(v, now))
        live = [v for v in views if _live(v, now)]
        shown[channel] = {**best, "instances": len(live)}
    return shown


# Which instance's view `status` shows: a live one first, then by how much it tells the
# admin (a failure, then work in progress, then the channel working), then the newest.
_TELLS = {"failed": 5, "reconnecting": 4, "starting": 3, "connected": 2, "standby": 1}


def _live(view: dict[str, Any], now: datetime) -> bool:
    return bool(view["state"] != "stopped" and now - view["updated_at"] <= STALE_AFTER)


def _rank(view: dict[str, Any], now: datetime) -> tuple[bool, int, datetime]:
    return _live(view, now), _TELLS.get(view["state"], 0), view["updated_at"]


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
