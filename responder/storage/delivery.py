"""What the platform reported of replies sent (delivered, read, failed): recorded on the reply,
only ever moving it forward, and the failures read back for `responder status`."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, bindparam, func, select, update

from responder.domain.models import DeliveryReport, delivery_advances
from responder.storage import schema

ERROR_LENGTH = 300  # replies.delivery_error


@dataclass(frozen=True)
class Recorded:
    """What a batch of reports did: how many replies moved, and the ids that are no reply of
    this channel's (sent before the database was, someone else's, or purged)."""

    changed: int
    unknown: tuple[str, ...]


_MOVE = (
    update(schema.replies)
    .where(schema.replies.c.id == bindparam("b_id"))
    .values(
        delivery=bindparam("b_state"),
        delivery_at=bindparam("b_at"),
        delivery_error=bindparam("b_error"),
    )
)


def record(
    conn: Connection, channel: str, reports: Sequence[DeliveryReport], now: datetime
) -> Recorded:
    """Move each reported reply's delivery state forward, in the order of `reports`; a report
    that would move it back (delivered after read) or repeats one changes nothing."""
    ids = {report.external_id for report in reports}
    if not ids:
        return Recorded(0, ())
    p, r = schema.posts, schema.replies
    # Every id a send was given is in posts (the first one is also replies.external_id), so
    # the later parts of a split reply lead back to it too; ix_posts_message finds them.
    owner = {
        row.message_id: row.reply_id
        for row in conn.execute(
            select(p.c.message_id, p.c.reply_id).where(
                p.c.channel == channel, p.c.message_id.in_(ids)
            )
        )
    }
    current: dict[int, tuple[str | None, datetime | None, str | None]] = {
        row.id: (row.delivery, row.delivery_at, row.delivery_error)
        for row in conn.execute(
            select(r.c.id, r.c.delivery, r.c.delivery_at, r.c.delivery_error).where(
                r.c.id.in_(set(owner.values()))
            )
        )
    }
    changed: set[int] = set()
    for report in reports:
        reply_id = owner.get(report.external_id)
        if reply_id is None or reply_id not in current:
            continue
        if delivery_advances(current[reply_id][0], report.state):
            error = _error(report) if report.state == "failed" else None
            current[reply_id] = (report.state, report.at or now, error)
            changed.add(reply_id)
    if changed:
        moves = [
            dict(zip(("b_state", "b_at", "b_error"), current[i], strict=True), b_id=i)
            for i in sorted(changed)
        ]
        conn.execute(_MOVE, moves)
    return Recorded(len(changed), tuple(sorted(ids - owner.keys())))


def _error(report: DeliveryReport) -> str:
    """ "131047 Re-engagement message": the code first, so `status` can name what to do."""
    code = "" if report.error_code is None else str(report.error_code)
    text = " ".join(part for part in (code, report.error.strip()) if part)
    return (text or "no reason given")[:ERROR_LENGTH]


def failed(conn: Connection, channel: str, latest: int) -> tuple[int, list[dict[str, Any]]]:
    """How many of the channel's replies were reported failed, and the `latest` of them
    (reply id, kind, recipient, when, error), newest first."""
    r = schema.replies
    where = (r.c.channel == channel, r.c.delivery == "failed")
    count = conn.execute(select(func.count()).select_from(r).where(*where)).scalar()
    rows = conn.execute(
        select(r.c.id, r.c.kind, r.c.recipient, r.c.delivery_at, r.c.delivery_error)
        .where(*where)
        .order_by(r.c.delivery_at.desc(), r.c.id.desc())
        .limit(latest)
    )
    return int(count or 0), [dict(row._mapping) for row in rows]
