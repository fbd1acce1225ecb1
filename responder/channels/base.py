"""The small protocol every channel speaks, and what it is given to deliver into."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Protocol, runtime_checkable

from responder.channels.diagnose import Diagnosis, Endpoint
from responder.domain.models import (
    ChatEntry,
    Cursor,
    Delivered,
    DeliveryReport,
    FileData,
    InboundMessage,
    MailMark,
    OutboundReply,
)


@dataclass(frozen=True)
class ChannelHealth:
    """How a channel is doing, for the log, `status`, /healthz and systemd: its state
    (starting, connected, reconnecting, failed, stopped), since when, and what went wrong."""

    state: str
    since: datetime
    problem: Diagnosis | None = None
    # The failure leaves the channel's main work running (a watched Sent folder is missing).
    partial: bool = False
    # What was raised and where, so the composition root can say it with the config's own
    # file and key (channels[0]...); not part of equality: each retry raises anew.
    cause: BaseException | None = field(default=None, compare=False, repr=False)
    at: Endpoint | None = field(default=None, compare=False, repr=False)


class Inbox(Protocol):
    """Where a channel hands what it received; records durably before it returns."""

    async def cursor(self, key: str) -> tuple[Cursor, datetime] | None:
        """The last position recorded under `key` (a channel name, or a channel's second
        cursor such as "support/Sent"), and when it was recorded."""
        ...

    async def deliver(
        self,
        channel: str,
        messages: Sequence[InboundMessage],
        cursor: Cursor | None,
        key: str | None = None,
    ) -> None:
        """Record `messages` as the channel's and move the cursor under `key` (default: the
        channel name) to `cursor`, in one step (idempotent)."""
        ...

    async def first_started(self, key: str) -> tuple[datetime, bool]:
        """When intake under `key` was first started (recorded at the first call, before the
        first login, and kept across restarts), and whether this call recorded it."""
        ...

    def holding(self, nbytes: int) -> AbstractAsyncContextManager[None]:
        """Hold `nbytes` of mail in memory under the process's budget (issue 13)."""
        ...

    async def mark(
        self, channel: str, marks: Sequence[MailMark], key: str, cursor: Cursor | None
    ) -> None:
        """Record staff marks seen on the channel's messages and move the cursor under `key`,
        in one step (idempotent: a mark seen twice counts once). Marks on messages that
        belong to no ticket are ignored."""
        ...

    async def delivery(self, channel: str, reports: Sequence[DeliveryReport]) -> None:
        """Record what the platform reported of the channel's replies (WhatsApp: sent,
        delivered, read, failed), durably before it returns. A reply's state only moves
        forward; reports about messages that are not our replies are ignored."""
        ...

    async def conversation(
        self,
        channel: str,
        customer: str,
        recipient: str,
        since: datetime | None = None,
        limit: int = 200,
    ) -> list[ChatEntry]:
        """A chat customer's conversation as recorded, for a channel that shows it all (the
        website chat): their messages on `channel` (recorded under external ids
        "<customer>/...") and our replies to `recipient` there not given up on, recorded at
        or after `since`; the latest `limit` of each, in no particular order."""
        ...

    async def recorded(self, channel: str, external_id: str) -> ChatEntry | None:
        """The message recorded on `channel` under `external_id`, if one was."""
        ...

    async def keep_file(self, channel: str, visitor: str, key: str, file: FileData) -> bool:
        """Keep a chat customer's file (the website chat's, issue 17) under `key`, unless one
        is kept there already (a retry); whether this call kept it. Durable on return."""
        ...

    async def kept_file(self, channel: str, visitor: str, key: str) -> FileData | None:
        """The file kept for `visitor` under `key`; None for another visitor's key."""
        ...

    async def secret(self, key: str) -> bytes:
        """A random secret kept in the database under `key`, made at the first call: what a
        channel signs with it stays valid across restarts."""
        ...


class Channel(Protocol):
    """A thin adapter: knows its protocol, nothing of rules, templates or storage."""

    name: str
    # Sending lanes and how many sends each may have in flight; a slow lane (a Telegram
    # group takes 20 posts a minute) never holds up replies to customers in another.
    lanes: dict[str, int]

    def lane(self, reply: OutboundReply) -> str:
        """Which lane `reply` goes through."""
        ...

    async def start(self, inbox: Inbox) -> None:
        """Begin intake in the background; returns once the tasks are started."""
        ...

    async def send(self, reply: OutboundReply) -> Delivered | None:
        """Send one reply; raises TransientError or PermanentError on failure."""
        ...

    async def stop(self) -> None:
        """Stop intake and close connections."""
        ...

    @property
    def state(self) -> str:
        """A short word for health reports: starting, connected, reconnecting, failed."""
        ...

    @property
    def health(self) -> ChannelHealth:
        """The state with since when and the last problem, in the admin's words."""
        ...

    async def reconfigure(self, config: Any) -> None:
        """Take new settings for this channel (a fixed password, another server) in place:
        stop intake, swap them in, start intake again; sends go on through this object."""
        ...


@runtime_checkable
class Pausable(Protocol):
    """A channel whose intake only one instance at a time may run (issue 19: an IMAP folder's
    watchers, a bot's getUpdates): the composition root starts it while this instance holds
    its lease and pauses it the moment the lease is lost."""

    async def pause(self) -> None:
        """Stop intake at once and let go of the inbox, so a reconfigure leaves it stopped;
        sends go on through this object, and start() begins intake again."""
        ...


@runtime_checkable
class Webhooks(Protocol):
    """A channel the provider calls over HTTP (WhatsApp): its routes are served on the
    daemon's HTTP endpoint, which a config with such a channel must have."""

    def routes(self) -> list[Any]:
        """aiohttp route definitions; they answer 503 until the channel is started."""
        ...


@runtime_checkable
class FileSource(Protocol):
    """A channel whose customers' files stay on its servers until fetched (WhatsApp)."""

    async def fetch_file(self, ref: str, limit: int) -> FileData:
        """The file the channel knows as `ref`; PermanentError when it is gone or larger
        than `limit` bytes, TransientError or ChannelDown when a later try may work."""
        ...


# Given a language (id, en): whether the business is open now and, if not, when it opens
# next, in words of that language (None: no opening ahead).
OpenNow = Callable[[str], tuple[bool, str | None]]


@dataclass(frozen=True)
class Site:
    """What a channel that serves browsers on the daemon's HTTP endpoint (the website chat)
    is given by the composition root: the address browsers reach the endpoint at (as
    configured now), the clock the rest of the daemon uses, and the business hours."""

    public_url: Callable[[], str]
    clock: Callable[[], datetime]
    hours: OpenNow
    # Given the channel's name: whether a visitor who leaves an email address is answered
    # there too (an email channel is configured for it; the offline form, issue 17).
    by_email: Callable[[str], bool] = lambda _channel: False


# Told a visitor whose conversation another instance wrote to; None: any visitor's may have.
Nudge = Callable[[str | None], None]


class Peers(Protocol):
    """The other instances sharing the database (issue 19), for a channel that holds its
    customers' open streams here (the website chat): what one records for a customer is
    told to the others, whose streams of that customer then read it at once."""

    def follow(self, channel: str, nudge: Nudge) -> None:
        """Call `nudge` when another instance recorded something for one of `channel`'s
        customers (a visitor's message, a reply it sent), or may have unheard."""
        ...

    async def tell(self, channel: str, visitor: str) -> None:
        """Tell the others that something for `visitor` of `channel` was recorded (and
        committed); never raises: a stream that misses it reads it on reconnecting."""
        ...

    def unheard(self) -> bool:
        """Whether another instance may record for this channel's customers without a word
        reaching us (SQLite; PostgreSQL while not listening): streams then read the database
        at each quiet keepalive."""
        ...


class Alone:
    """Peers for a channel built without the composition root: no other instance."""

    def follow(self, channel: str, nudge: Nudge) -> None:
        pass

    async def tell(self, channel: str, visitor: str) -> None:
        pass

    def unheard(self) -> bool:
        return False


@runtime_checkable
class Streams(Protocol):
    """A channel that holds requests open (the website chat's event streams): the HTTP
    endpoint has it close them before it waits for its requests to end, at stop."""

    async def close_streams(self) -> None: ...


# What a channel that passes customers' files on (a staff group) is given by the
# composition root: (channel name, ref, limit) -> the file, from whichever channel has it.
FetchFile = Callable[[str, str, int], Awaitable[FileData]]


@runtime_checkable
class Probing(Protocol):
    """A channel that can tell whether its server is back without sending anything; the
    outbox probes it while the server is out of reach, and releases the waiting replies as
    soon as it answers. A channel without probe() is released by its next successful send."""

    async def probe(self) -> None:
        """Reach the server as a send would (SMTP: connect, EHLO, login, QUIT) and return;
        raise if it cannot be reached."""
        ...
