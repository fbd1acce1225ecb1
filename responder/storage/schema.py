"""Table definitions in SQLAlchemy Core, portable between SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import (
    BigInteger,
    Column,
    DateTime,
    Dialect,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Table,
    Text,
    TypeDecorator,
    UniqueConstraint,
    and_,
)


class UTCDateTime(TypeDecorator[datetime]):
    """Aware UTC datetimes in Python on every backend (SQLite keeps no offset, so store UTC)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> Any:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to the database; use an aware one")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: Any, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        assert isinstance(value, datetime)
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


metadata = MetaData()

# Integer primary keys autoincrement on both SQLite and PostgreSQL; BigInteger for UIDs because
# UIDVALIDITY and UID are unsigned 32-bit values (RFC 3501 section 2.3.1.1).
schema_version = Table(
    "schema_version",
    metadata,
    Column("version", Integer, primary_key=True, autoincrement=False),
    Column("applied_at", UTCDateTime(), nullable=False),
)

cursors = Table(
    "cursors",
    metadata,
    Column("channel", String(64), primary_key=True),
    Column("validity", BigInteger, nullable=False),
    Column("position", BigInteger, nullable=False),
    Column("updated_at", UTCDateTime(), nullable=False),
)

tickets = Table(
    "tickets",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("ref", String(16), nullable=False, unique=True),
    Column("channel", String(64), nullable=False),
    Column("customer", String(320), nullable=False),
    Column("customer_name", String(200), nullable=False, default=""),
    Column("subject", String(400), nullable=False, default=""),
    Column("language", String(8), nullable=False),
    Column("status", String(16), nullable=False, default="open"),
    # Since schema version 2: what the rules decided for the ticket.
    Column("rule", String(64), nullable=True),
    Column("priority", String(16), nullable=True),
    Column("tags", Text, nullable=True),
    Column("sla_policy", String(64), nullable=True),
    Column("created_at", UTCDateTime(), nullable=False),
    Column("updated_at", UTCDateTime(), nullable=False),
    # Since schema version 3: when staff resolved it (/close); None while open.
    Column("resolved_at", UTCDateTime(), nullable=True),
    # Since schema version 5: the customer's UTC offset in minutes, from their mail's Date
    # header, so a survey reaches them at a decent local hour; None: the business's zone.
    Column("utc_offset", Integer, nullable=True),
    Index("ix_tickets_channel_customer", "channel", "customer"),
)

inbound = Table(
    "inbound",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("channel", String(64), nullable=False),
    Column("external_id", String(400), nullable=False),
    Column("raw", LargeBinary, nullable=False),
    Column("received_at", UTCDateTime(), nullable=False),
    Column("recorded_at", UTCDateTime(), nullable=False),
    # new -> done; "outcome" says what was decided: replied, suppressed, follow-up.
    Column("state", String(16), nullable=False, default="new"),
    Column("outcome", String(32), nullable=True),
    Column("sender", String(320), nullable=True),
    Column("subject", String(400), nullable=True),
    Column("ticket_id", Integer, ForeignKey("tickets.id"), nullable=True),
    # Since schema version 6: failed tries to decide and record it, and the last reason, so
    # `responder status` shows a message that keeps failing (issue 13).
    Column("attempts", Integer, nullable=False, default=0, server_default="0"),
    Column("last_error", Text, nullable=True),
    UniqueConstraint("channel", "external_id", name="uq_inbound_channel_external"),
    Index("ix_inbound_state", "state"),
    # Since schema version 4: a ticket's first message, for SLA alerts, without a scan.
    Index("ix_inbound_ticket", "ticket_id", "id"),
)

# Every Message-ID that belongs to a ticket's thread, ours and the customer's, so a follow-up
# that names any of them in In-Reply-To or References joins the ticket (RFC 5322 section 3.6.4).
thread_ids = Table(
    "thread_ids",
    metadata,
    Column("message_id", String(400), primary_key=True),
    Column("ticket_id", Integer, ForeignKey("tickets.id"), nullable=False),
)

replies = Table(
    "replies",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("inbound_id", Integer, ForeignKey("inbound.id"), nullable=False),
    # Nullable since schema version 3: a Telegram /start welcome opens no ticket.
    Column("ticket_id", Integer, ForeignKey("tickets.id"), nullable=True),
    Column("channel", String(64), nullable=False),
    Column("kind", String(32), nullable=False),
    # Since schema version 2: for an out-of-hours reply, the closed period it was sent in, so
    # a sender gets one per closed period (issue 3).
    Column("period", String(64), nullable=True),
    Column("recipient", String(320), nullable=False),
    Column("envelope_from", String(320), nullable=False),
    Column("message_id", String(400), nullable=False, unique=True),
    Column("message", LargeBinary, nullable=False),
    # pending -> sent, or -> parked after a permanent failure or too many tries; a pending
    # reply with next_attempt_at waits for its retry.
    Column("state", String(16), nullable=False, default="pending"),
    Column("attempts", Integer, nullable=False, default=0),
    Column("next_attempt_at", UTCDateTime(), nullable=True),
    Column("last_error", Text, nullable=True),
    Column("created_at", UTCDateTime(), nullable=False),
    Column("sent_at", UTCDateTime(), nullable=True),
    # Since schema version 3: the channel's own id for what was sent (Telegram: the first
    # message id) and, in a staff group with topics, the ticket's topic.
    Column("external_id", String(64), nullable=True),
    Column("thread", String(64), nullable=True),
    # Since schema version 8: what a notice is about, as ids rather than inside its kind (an
    # SLA alert's timer, a survey's message and its low-rating notices). Plain integers:
    # version 1 creates this table before timers and surveys exist.
    Column("sla_timer_id", Integer, nullable=True),
    Column("survey_id", Integer, nullable=True),
    Index("ix_replies_state", "state"),
    Index("ix_replies_recipient_created", "recipient", "created_at"),
    Index("ix_replies_ticket", "ticket_id"),
)

# One automatic reply per message to the customer, one notice per staff member; one alert per
# SLA timer and recipient. A survey's rows are claimed with the survey (sent once, each low
# rating told once), so they need no key of their own. Partial indexes, on SQLite and
# PostgreSQL alike (since schema version 8; a unique constraint on the kind before).
_about_nothing = and_(replies.c.sla_timer_id.is_(None), replies.c.survey_id.is_(None))
_about_a_timer = replies.c.sla_timer_id.is_not(None)
Index(
    "uq_replies_once",
    replies.c.inbound_id,
    replies.c.kind,
    replies.c.recipient,
    unique=True,
    sqlite_where=_about_nothing,
    postgresql_where=_about_nothing,
)
Index(
    "uq_replies_alert",
    replies.c.sla_timer_id,
    replies.c.recipient,
    unique=True,
    sqlite_where=_about_a_timer,
    postgresql_where=_about_a_timer,
)

suppressions = Table(
    "suppressions",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("inbound_id", Integer, ForeignKey("inbound.id"), nullable=False, unique=True),
    Column("channel", String(64), nullable=False),
    Column("rule", String(64), nullable=False),
    Column("reason", Text, nullable=False),
    Column("sender", String(320), nullable=True),
    Column("created_at", UTCDateTime(), nullable=False),
    Index("ix_suppressions_rule", "rule"),
)

# Since schema version 3. Every Telegram message a reply was sent as, so a staff member's
# answer to a relayed post finds its ticket (issue 4: the mapping lives in the database).
posts = Table(
    "posts",
    metadata,
    Column("channel", String(64), primary_key=True),
    Column("chat", String(64), primary_key=True),
    Column("message_id", String(64), primary_key=True),
    Column("reply_id", Integer, ForeignKey("replies.id"), nullable=False),
)

# Since schema version 3: what staff did to a ticket (answered, closed, reopened, noted).
ticket_events = Table(
    "ticket_events",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("ticket_id", Integer, ForeignKey("tickets.id"), nullable=False),
    Column("inbound_id", Integer, ForeignKey("inbound.id"), nullable=True),
    Column("kind", String(32), nullable=False),
    Column("actor", String(200), nullable=False, default=""),
    Column("detail", Text, nullable=True),
    Column("created_at", UTCDateTime(), nullable=False),
    Index("ix_ticket_events_ticket", "ticket_id"),
)

# Since schema version 3: customers who blocked the bot (Telegram 403); cleared when they
# write again, which they can only do after unblocking.
blocked = Table(
    "blocked",
    metadata,
    Column("channel", String(64), primary_key=True),
    Column("recipient", String(320), primary_key=True),
    Column("since", UTCDateTime(), nullable=False),
)

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

# Since schema version 4: small facts about the database itself, such as the fingerprint of
# the SLA policies its timers were planned with.
meta = Table(
    "meta",
    metadata,
    Column("key", String(64), primary_key=True),
    Column("value", Text, nullable=False),
)

# Since schema version 4: staff marks (\\Answered, done) seen on a message whose ticket the
# pipeline has not opened yet (a backlog after a restart); claimed when the ticket opens.
early_marks = Table(
    "early_marks",
    metadata,
    Column("channel", String(64), primary_key=True),
    Column("message_id", String(400), primary_key=True),
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
    Column("recipient", String(320), nullable=False),
    Column("state", String(16), nullable=False),
    Column("reason", Text, nullable=True),
    Column("due_at", UTCDateTime(), nullable=True),
    Column("sent_at", UTCDateTime(), nullable=True),
    # The survey as sent: its email's Message-ID or its Telegram post, found through replies.
    Column("reply_id", Integer, ForeignKey("replies.id"), nullable=True),
    Column("rating", Integer, nullable=True),  # 1-5
    Column("nps", Integer, nullable=True),  # 0-10
    Column("comment", Text, nullable=True),
    Column("answered_at", UTCDateTime(), nullable=True),
    Column("answered_via", String(16), nullable=True),  # email, telegram, link
    Column("notified_at", UTCDateTime(), nullable=True),  # staff told of a low rating
    Column("created_at", UTCDateTime(), nullable=False),
    Column("updated_at", UTCDateTime(), nullable=False),
    Index("ix_surveys_state_due", "state", "due_at"),
    Index("ix_surveys_recipient_sent", "channel", "recipient", "sent_at"),
)

# Since schema version 7: each channel's health as the daemon last saw it (issue 14), for
# `responder status`, a separate process. updated_at doubles as the daemon's heartbeat.
channel_health = Table(
    "channel_health",
    metadata,
    Column("channel", String(64), primary_key=True),
    Column("state", String(16), nullable=False),
    Column("since", UTCDateTime(), nullable=False),
    Column("problem", Text, nullable=True),
    Column("remedy", Text, nullable=True),
    Column("key", String(200), nullable=True),  # the config key to look at
    Column("updated_at", UTCDateTime(), nullable=False),
)
