"""A chat customer's conversation read back: their recorded messages and our replies to them,
for a channel that shows the whole conversation (the website chat's panel, issue 17)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Connection, select

from responder.domain.models import ChatEntry
from responder.storage import schema

# A reply given up on (parked, expired) never reached the customer: not part of what they see.
SHOWN = ("pending", "sent")


def conversation(
    conn: Connection,
    channel: str,
    prefix: str,
    recipient: str,
    since: datetime | None,
    limit: int,
) -> list[ChatEntry]:
    """The customer's messages on `channel` (inbound rows whose external id starts with
    `prefix`) and our replies to `recipient` there, recorded at or after `since` (all when
    None): the latest `limit` of each, the customer's first. Both reads use an index: the
    inbound rows' (channel, external id) as a range, the replies' (recipient, created_at)."""
    i, r = schema.inbound, schema.replies
    theirs = select(i.c.id, i.c.raw).where(
        i.c.channel == channel,
        i.c.external_id >= prefix,
        i.c.external_id < _after_prefix(prefix),
    )
    ours = select(r.c.id, r.c.message).where(
        r.c.recipient == recipient, r.c.channel == channel, r.c.state.in_(SHOWN)
    )
    if since is not None:
        theirs = theirs.where(i.c.received_at >= since)
        ours = ours.where(r.c.created_at >= since)
    found = [
        ChatEntry(row.id, False, row.raw)
        for row in conn.execute(theirs.order_by(i.c.id.desc()).limit(limit))
    ]
    found += [
        ChatEntry(row.id, True, row.message)
        for row in conn.execute(ours.order_by(r.c.id.desc()).limit(limit))
    ]
    return found


def recorded(conn: Connection, channel: str, external_id: str) -> ChatEntry | None:
    """The customer's message recorded on `channel` under `external_id`, if it was."""
    i = schema.inbound
    query = select(i.c.id, i.c.raw).where(i.c.channel == channel, i.c.external_id == external_id)
    row = conn.execute(query).first()
    return None if row is None else ChatEntry(row.id, False, row.raw)


def _after_prefix(prefix: str) -> str:
    """The first text past every text that starts with `prefix`."""
    return prefix[:-1] + chr(ord(prefix[-1]) + 1)
