"""A visitor's conversation read back from the database, as the panel's events: the source
of truth for a new session, a reconnecting stream and a poll (issue 17)."""

from __future__ import annotations

from datetime import datetime, timedelta

from responder.channels.base import Inbox
from responder.wire.webchat.events import Event, reply_event, visitor_event
from responder.wire.webchat.record import address, event_time

# A session shows at most this many of the latest events; a replay sends every one missed.
HISTORY = 100
REPLAY = 1000
# A reply's row is written just after the time its event carries (the same clock, a moment
# later): reading from a little before that time misses none.
_SLACK = timedelta(seconds=1)


async def latest(inbox: Inbox, channel: str, visitor: str, limit: int = HISTORY) -> list[Event]:
    """The conversation's last `limit` events, oldest first."""
    return (await _read(inbox, channel, visitor, None, limit))[-limit:]


async def after(inbox: Inbox, channel: str, visitor: str, last: str | None) -> list[Event]:
    """Every event after the one `last` names, oldest first; with no (readable) `last`, the
    latest ones, as a session shows them."""
    when = event_time(last) if last else None
    if last is None or when is None:
        return await latest(inbox, channel, visitor)
    found = await _read(inbox, channel, visitor, when - _SLACK, REPLAY)
    return [e for e in found if e["id"] > last]


async def _read(
    inbox: Inbox, channel: str, visitor: str, since: datetime | None, limit: int
) -> list[Event]:
    entries = await inbox.conversation(channel, visitor, address(visitor), since, limit)
    events = [
        (reply_event(e.raw, e.row) if e.ours else visitor_event(e.raw, e.row)) for e in entries
    ]
    return sorted((e for e in events if e is not None), key=lambda e: str(e["id"]))
