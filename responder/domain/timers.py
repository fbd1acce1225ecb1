"""The plain records of SLA timers: a ticket's facts, its timer rows, and changes to them."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime

from responder.domain.records import NewEvent, NewReply

TicketEvent = tuple[str, datetime, str | None]  # (kind, when, detail) from ticket_events


@dataclass(frozen=True)
class Armed:
    """A pending timer (an SLA stage, a survey) the scheduler should wake us for."""

    id: int
    due_at: datetime


@dataclass(frozen=True)
class TicketFacts:
    """What re-checking and announcing a ticket's timers needs from the database."""

    id: int
    ref: str
    channel: str
    customer: str
    customer_name: str
    subject: str
    language: str
    policy: str | None
    opened: datetime
    first_inbound: int | None
    events: list[TicketEvent] = field(default_factory=list)


@dataclass(frozen=True)
class TimerRow:
    """A timer row as stored: one stage of one clock of a ticket."""

    id: int
    ticket_id: int
    clock: str
    stage: str
    state: str
    due_at: datetime | None


@dataclass(frozen=True)
class TimerChange:
    """A timer row to move (new due time) or to pause or stop."""

    id: int
    state: str
    due_at: datetime | None


@dataclass(frozen=True)
class NewTimer:
    ticket_id: int
    clock: str
    stage: str
    state: str
    due_at: datetime | None


@dataclass(frozen=True)
class TimerPlan:
    """What re-planning some tickets changes in their timer rows."""

    changes: Sequence[TimerChange] = ()
    inserts: Sequence[NewTimer] = ()


@dataclass(frozen=True)
class Firing:
    """A due timer and what it sends; recorded only if the timer is still pending."""

    timer_id: int
    inbound_id: int
    sends: Sequence[tuple[str, int | None, NewReply]]  # (channel, ticket id or None, reply)
    event: NewEvent | None = None
    ticket_id: int | None = None
