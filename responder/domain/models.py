"""The plain records that flow between channels, the pipeline and storage."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime


@dataclass(frozen=True)
class Cursor:
    """Where a channel's intake stands: for IMAP, (UIDVALIDITY, last UID recorded)."""

    validity: int
    position: int


@dataclass(frozen=True)
class InboundMessage:
    """One message as a channel received it, before anything is decided about it."""

    channel: str
    external_id: str  # channel-unique id: for email, the Message-ID (or a digest if absent)
    raw: bytes  # the message exactly as received; parsing happens in the pipeline
    received_at: datetime
    cursor: Cursor | None = None  # the channel position this message advances to


@dataclass(frozen=True)
class MailMark:
    """A staff action a channel saw on a message it already delivered, by Message-ID.

    "answered": a staff mail client set \\Answered on it (RFC 3501 section 2.3.2);
    "done": staff set the configured keyword on it or moved it to the done folder.
    """

    message_id: str  # the message's Message-ID, with or without angle brackets
    kind: str  # answered | done
    seen_at: datetime


@dataclass(frozen=True)
class OutboundReply:
    """A reply ready to go out through a channel; built and recorded before sending."""

    reply_id: int
    channel: str
    envelope_from: str  # "" for the null reverse-path RFC 3834 section 3.3 recommends
    recipients: tuple[str, ...]
    message: bytes  # the complete, already serialised message
    message_id: str
    extra: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class ChatEntry:
    """One message of a chat customer's conversation as recorded: theirs (an inbound row) or
    ours to them (a reply row not given up on), in its recorded bytes."""

    row: int
    ours: bool
    raw: bytes


@dataclass(frozen=True)
class FileData:
    """A file fetched from a channel's servers (a customer's WhatsApp photo), to pass on."""

    content: bytes
    name: str
    mime: str


@dataclass(frozen=True)
class Delivered:
    """What a channel learned by sending: the ids the other side gave the message(s)."""

    channel: str
    chat: str  # where it went (Telegram chat id)
    message_ids: tuple[str, ...] = ()
    thread: str | None = None  # the forum topic it went into


@dataclass(frozen=True)
class Failing:
    """An inbound message that keeps failing to be decided: shown in `responder status`."""

    inbound_id: int
    attempts: int
    error: str


@dataclass(frozen=True)
class DeliveryReport:
    """What the platform says became of a message we sent (WhatsApp's status callbacks),
    by the id it gave that message: sent, delivered, read or failed."""

    external_id: str
    state: str
    at: datetime | None  # when it happened, as the platform says; None: when we heard
    error_code: int | None = None
    error: str = ""  # the platform's title of the failure


# How far a message got. Reports come out of order (read before delivered) and again; a
# reply's state only moves up, and read and failed are final (the first failure stays).
DELIVERY_RANK = {"sent": 1, "delivered": 2, "read": 3, "failed": 3}


def delivery_advances(current: str | None, new: str) -> bool:
    """Whether a report of `new` moves a reply that stands at `current` (None: no report)."""
    rank = DELIVERY_RANK.get(new)
    if rank is None:
        return False  # a state we do not know of (Meta adds some) changes nothing
    return rank > DELIVERY_RANK.get(current or "", 0)
