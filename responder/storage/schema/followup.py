"""Tables of what falls due once a ticket is open: SLA timers, early staff marks, surveys."""

from __future__ import annotations

from sqlalchemy import Column, ForeignKey, Index, Integer, String, Table, UniqueConstraint

from responder.storage.schema.base import OutsideString, OutsideText, UTCDateTime, metadata

# Since schema version 4: SLA timers, one row per (ticket, clock, stage), the source of truth
# for every due reminder, breach notice and escalation (issue 5). APScheduler only wakes us.
# state: pending (due_at set), paused (the ticket waits on the customer), stopped (answered,
# resolved, or no policy any more); done and skipped are final.
timers = Table(
    "timers",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("ticket_id", Integer, ForeignKey("tickets.id"), nullable=False),
    Column("clock", String(16), nullable=False),
    Column("stage", String(40), nullable=False),
    Column("state", String(16), nullable=False),
    Column("due_at", UTCDateTime(), nullable=True),
    Column("fired_at", UTCDateTime(), nullable=True),
    Column("updated_at", UTCDateTime(), nullable=False),
    UniqueConstraint("ticket_id", "clock", "stage", name="uq_timers_ticket_clock_stage"),
    Index("ix_timers_state_due", "state", "due_at"),
)

# Since schema version 4: staff marks (\\Answered, done) seen on a message whose ticket the
# pipeline has not opened yet (a backlog after a restart); claimed when the ticket opens.
early_marks = Table(
    "early_marks",
    metadata,
    Column("channel", String(64), primary_key=True),
    Column("message_id", OutsideString(400), primary_key=True),
    Column("kind", String(16), primary_key=True),
    Column("seen_at", UTCDateTime(), nullable=False),
)

# Since schema version 5: one satisfaction survey per ticket (issue 6), from planned to sent
# to answered; cancelled (the ticket reopened) and skipped (with a reason) are final.
surveys = Table(
    "surveys",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("ticket_id", Integer, ForeignKey("tickets.id"), nullable=False, unique=True),
    Column("channel", String(64), nullable=False),
    Column("recipient", OutsideString(320), nullable=False),
    Column("state", String(16), nullable=False),
    Column("reason", OutsideText, nullable=True),
    Column("due_at", UTCDateTime(), nullable=True),
    Column("sent_at", UTCDateTime(), nullable=True),
    # The survey as sent: its email's Message-ID or its Telegram post, found through replies.
    Column("reply_id", Integer, ForeignKey("replies.id"), nullable=True),
    Column("rating", Integer, nullable=True),  # 1-5
    Column("nps", Integer, nullable=True),  # 0-10
    Column("comment", OutsideText, nullable=True),
    Column("answered_at", UTCDateTime(), nullable=True),
    Column("answered_via", String(16), nullable=True),  # email, telegram, link
    Column("notified_at", UTCDateTime(), nullable=True),  # staff told of a low rating
    Column("created_at", UTCDateTime(), nullable=False),
    Column("updated_at", UTCDateTime(), nullable=False),
    Index("ix_surveys_state_due", "state", "due_at"),
    Index("ix_surveys_recipient_sent", "channel", "recipient", "sent_at"),
)
