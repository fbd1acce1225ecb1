"""What the report reads from the database: plain frozen rows, the input of the figures."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime


@dataclass(frozen=True)
class TicketRow:
    id: int
    ref: str
    channel: str
    created_at: datetime
    resolved_at: datetime | None  # None while open (a reopen clears it)
    sla_policy: str | None  # None: the config's sla.default


@dataclass(frozen=True)
class EventRow:
    ticket_id: int
    kind: str  # staff_reply, answered, customer_reply, closed, reopened, sla_breach, ...
    created_at: datetime
    detail: str | None
    actor: str = ""  # who: a staff member, or "auto-close" (issue 18)


@dataclass(frozen=True)
class SurveyRow:
    ticket_id: int
    state: str  # planned, sent, answered, cancelled, skipped
    sent_at: datetime | None
    rating: int | None  # 1-5
    nps: int | None  # 0-10
    comment: str | None
    answered_at: datetime | None
    reason: str | None = None  # why it was skipped or cancelled


@dataclass(frozen=True)
class ReportData:
    """Tickets opened in the period and what belongs to them, plus intake counts."""

    tickets: tuple[TicketRow, ...] = ()
    events: tuple[EventRow, ...] = ()  # of those tickets, in time order
    reply_kinds: tuple[tuple[int, str], ...] = ()  # (ticket id, replies.kind) of those tickets
    surveys: tuple[SurveyRow, ...] = ()  # of those tickets
    # Messages received and machine mail suppressed in the period, by channel.
    messages_in: dict[str, int] = field(default_factory=dict)
    suppressed: dict[str, int] = field(default_factory=dict)
    merged: int = 0  # duplicates opened in the period and merged into another (/merge)
