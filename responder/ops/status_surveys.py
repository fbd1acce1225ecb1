"""Surveys that were not sent, for `responder status`: how many today, the latest with why
(WhatsApp's 24-hour window closed with no template for it, once_per, a blocked bot)."""

from __future__ import annotations

from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import Connection, func, select

from responder.storage import schema

LATEST = 3  # skips shown with their reason; the count says how many there were today


def read_skips(
    conn: Connection, today: datetime, tomorrow: datetime, zone: ZoneInfo
) -> dict[str, Any]:
    """{today: n, latest: [{ref, channel, at, reason}]}: the newest skips of any day."""
    s, t = schema.surveys, schema.tickets
    skipped = s.c.state == "skipped"
    count = conn.execute(
        select(func.count()).where(skipped, s.c.updated_at >= today, s.c.updated_at < tomorrow)
    ).scalar()
    rows = conn.execute(
        select(t.c.ref, s.c.channel, s.c.updated_at, s.c.reason)
        .join(t, t.c.id == s.c.ticket_id)
        .where(skipped)
        .order_by(s.c.updated_at.desc(), s.c.id.desc())
        .limit(LATEST)
    )
    latest = [
        {
            "ref": row.ref,
            "channel": row.channel,
            "at": row.updated_at.astimezone(zone).isoformat(),
            "reason": row.reason or "",
        }
        for row in rows
    ]
    return {"today": int(count or 0), "latest": latest}


def skip_lines(skips: dict[str, Any]) -> list[str]:
    """The lines under the Surveys line: each recent skip and its reason."""
    return [
        f"  not sent:      {item['ref']} on {item['channel']} at "
        f"{datetime.fromisoformat(item['at']):%Y-%m-%d %H:%M}: {item['reason']}"
        for item in skips["latest"]
    ]
