"""Plain records read from and written to the database."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from responder.domain.models import Delivered, OutboundReply


@dataclass(frozen=True)
class InboundRow:
    id: int
    channel: str
    external_id: str
    raw: bytes
    received_at: datetime
    state: str
    ticket_id: int | None


@dataclass(frozen=True)
class ReplyRow:
    id: int
    channel: str
    recipient: str
    envelope_from: str
    message_id: str
    message: bytes
    state: str
    attempts: int
    next_attempt_at: datetime | None


@dataclass(frozen=True)
class ReplyMark:
    """The outcome of one try to send a reply."""

    reply_id: int
    state: str  # pending (to retry), sent or parked
    attempts: int
    last_error: str | None = None
    next_attempt_at: datetime | None = None
    sent_at: datetime | None = None
    delivered: Delivered | None = None


@dataclass(frozen=True)
class NewTicket:
    ref: str
    channel: str
    customer: str
    customer_name: str
    subject: str
    language: str
    utc_offset: int | None = None  # minutes east of UTC, from the customer's Date header


@dataclass(frozen=True)
class NewReply:
    kind: str
    recipient: str
    envelope_from: str
    message_id: str
    message: bytes
    # What a notice is about, when not only its ticket: the SLA timer an alert is for, the
    # survey a survey message or low-rating notice is for.
    sla_timer_id: int | None = None
    survey_id: int | None = None


@dataclass(frozen=True)
class NewEvent:
    """Something staff did to a ticket: answered, closed, reopened, noted."""

    kind: str
    actor: str
    detail: str | None = None
    # When it happened, if not when it was decided: a staff reply found in the Sent folder
    # after a restart counts from when it was sent, not from when we saw it.
    at: datetime | None = None


# /merge (issue 18): a duplicate's final status; the event on it naming the ticket it joined;
# on that ticket, the duplicate's first message (a question that may still want an answer)
# and the merge itself.
MERGED = "merged"
MERGED_INTO, MERGED_FROM = "merged_into", "merged_from"


@dataclass(frozen=True)
class TicketMerge:
    """/merge (issue 18): the newer ticket, a duplicate, joins the older one: its messages,
    threads, posts and events become the target's, its timers and planned survey end."""

    duplicate: str
    target: str
    reopen: bool  # the duplicate was open and the target is resolved
    on_duplicate: tuple[NewEvent, ...]
    on_target: tuple[NewEvent, ...]


@dataclass(frozen=True)
class Queued:
    """A reply or notice recorded as pending, ready for the outbox."""

    reply_id: int
    inbound_id: int
    channel: str
    reply: NewReply

    def outbound(self) -> OutboundReply:
        r = self.reply
        return OutboundReply(
            self.reply_id, self.channel, r.envelope_from, (r.recipient,), r.message, r.message_id
        )


@dataclass(frozen=True)
class Send:
    """A notice no inbound message decided (an SLA alert, a survey notice), to queue: filed
    under the ticket's first message (replies need one)."""

    inbound_id: int
    channel: str
    ticket_id: int | None
    reply: NewReply


@dataclass(frozen=True)
class HealthRow:
    """A channel's health as `responder status` reads it from the database."""

    channel: str
    state: str
    since: datetime
    problem: str | None = None
    remedy: str | None = None
    key: str | None = None


def pk(key: Any) -> int:
    return int(key[0])


def reply_row(row: Any) -> ReplyRow:
    return ReplyRow(
        row.id,
        row.channel,
        row.recipient,
        row.envelope_from,
        row.message_id,
        row.message,
        row.state,
        row.attempts,
        row.next_attempt_at,
    )
