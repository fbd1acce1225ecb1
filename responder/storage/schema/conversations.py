"""Tables of the conversations: cursors, inbound messages, tickets, their threads and events,
replies and what they were posted as, suppressions and blocked recipients."""

from __future__ import annotations

from sqlalchemy import (
    BigInteger,
    Column,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    String,
    Table,
    Text,
    UniqueConstraint,
    and_,
)

from responder.storage.schema.base import OutsideString, OutsideText, UTCDateTime, metadata

# Integer primary keys autoincrement on both SQLite and PostgreSQL; BigInteger for UIDs because
# UIDVALIDITY and UID are unsigned 32-bit values (RFC 3501 section 2.3.1.1).
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
    Column("customer", OutsideString(320), nullable=False),
    Column("customer_name", OutsideString(200), nullable=False, default=""),
    Column("subject", OutsideString(400), nullable=False, default=""),
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
    # Since schema version 11: the person (contacts.id), set when the ticket is recorded.
    Column("contact_id", Integer, nullable=True, index=True),
    # Since schema version 12: the ticket a duplicate was merged into (/merge, issue 18);
    # its status is then "merged" and everything it had belongs to that ticket.
    Column("merged_into", Integer, nullable=True),
    Index("ix_tickets_channel_customer", "channel", "customer"),
)

inbound = Table(
    "inbound",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("channel", String(64), nullable=False),
    Column("external_id", OutsideString(400), nullable=False),
    Column("raw", LargeBinary, nullable=False),
    Column("received_at", UTCDateTime(), nullable=False),
    Column("recorded_at", UTCDateTime(), nullable=False),
    # new -> done; "outcome" says what was decided: replied, suppressed, follow-up.
    Column("state", String(16), nullable=False, default="new"),
    Column("outcome", String(32), nullable=True),
    Column("sender", OutsideString(320), nullable=True),
    Column("subject", OutsideString(400), nullable=True),
    Column("ticket_id", Integer, ForeignKey("tickets.id"), nullable=True),
    # Since schema version 6: failed tries to decide and record it, and the last reason, so
    # `responder status` shows a message that keeps failing (issue 13).
    Column("attempts", Integer, nullable=False, default=0, server_default="0"),
    Column("last_error", OutsideText, nullable=True),
    # Since schema version 16: the instance that recorded it and decides it (issue 19); None
    # is nobody's (recorded before), taken by the next instance that claims (storage.claims).
    Column("owner", String(200), nullable=True),
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
    Column("message_id", OutsideString(400), primary_key=True),
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
    Column("recipient", OutsideString(320), nullable=False),
    Column("envelope_from", OutsideString(320), nullable=False),
    Column("message_id", OutsideString(400), nullable=False, unique=True),
    Column("message", LargeBinary, nullable=False),
    # pending -> sent, or -> parked after a permanent failure or too many tries; a pending
    # reply with next_attempt_at waits for its retry.
    Column("state", String(16), nullable=False, default="pending"),
    Column("attempts", Integer, nullable=False, default=0),
    Column("next_attempt_at", UTCDateTime(), nullable=True),
    Column("last_error", OutsideText, nullable=True),
    Column("created_at", UTCDateTime(), nullable=False),
    Column("sent_at", UTCDateTime(), nullable=True),
    # Since schema version 3: the channel's own id for what was sent (Telegram: the first
    # message id) and, in a staff group with topics, the ticket's topic.
    # 400 wide since schema version 15 (a WhatsApp wamid can pass 64).
    Column("external_id", OutsideString(400), nullable=True),
    Column("thread", OutsideString(64), nullable=True),
    # Since schema version 8: what a notice is about, as ids rather than inside its kind (an
    # SLA alert's timer, a survey's message and its low-rating notices). Plain integers:
    # version 1 creates this table before timers and surveys exist.
    Column("sla_timer_id", Integer, nullable=True),
    Column("survey_id", Integer, nullable=True),
    # Since schema version 9: what the platform reported of it (WhatsApp: sent, delivered,
    # read, failed), when, and for a failure its code and title ("131047 Re-engagement
    # message"); None where nothing was reported.
    Column("delivery", String(16), nullable=True),
    Column("delivery_at", UTCDateTime(), nullable=True),
    Column("delivery_error", OutsideString(300), nullable=True),
    # Since schema version 16: the instance that sends it (issue 19), as inbound.owner.
    Column("owner", String(200), nullable=True),
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
    Column("reason", OutsideText, nullable=False),
    Column("sender", OutsideString(320), nullable=True),
    Column("created_at", UTCDateTime(), nullable=False),
    Index("ix_suppressions_rule", "rule"),
)

# Since schema version 3. Every Telegram message a reply was sent as, so a staff member's
# answer to a relayed post finds its ticket (issue 4: the mapping lives in the database).
posts = Table(
    "posts",
    metadata,
    Column("channel", String(64), primary_key=True),
    Column("chat", OutsideString(64), primary_key=True),
    Column("message_id", OutsideString(400), primary_key=True),  # 64 before version 15
    Column("reply_id", Integer, ForeignKey("replies.id"), nullable=False),
    # Since schema version 9: a delivery report names only the message id (WhatsApp's wamid).
    Index("ix_posts_message", "channel", "message_id"),
)

# Since schema version 3: what staff did to a ticket (answered, closed, reopened, noted).
ticket_events = Table(
    "ticket_events",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("ticket_id", Integer, ForeignKey("tickets.id"), nullable=False),
    Column("inbound_id", Integer, ForeignKey("inbound.id"), nullable=True),
    Column("kind", String(32), nullable=False),
    Column("actor", OutsideString(200), nullable=False, default=""),
    Column("detail", OutsideText, nullable=True),
    Column("created_at", UTCDateTime(), nullable=False),
    Index("ix_ticket_events_ticket", "ticket_id"),
)

# Since schema version 3: customers who blocked the bot (Telegram 403); cleared when they
# write again, which they can only do after unblocking.
blocked = Table(
    "blocked",
    metadata,
    Column("channel", String(64), primary_key=True),
    Column("recipient", OutsideString(320), primary_key=True),
    Column("since", UTCDateTime(), nullable=False),
)

# Since schema version 10: files of the website chat (issue 17), images and PDFs up to the
# channel's max_file, both ways: a visitor's upload (key "v<client id>") and a staff member's
# answer (key "r<reply id>"); read only with the visitor's own id, never by key alone.
chat_files = Table(
    "chat_files",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("channel", String(64), nullable=False),
    Column("visitor", OutsideString(64), nullable=False),
    Column("key", OutsideString(80), nullable=False),
    Column("name", OutsideString(200), nullable=False),
    Column("mime", OutsideString(100), nullable=False),
    Column("size", Integer, nullable=False),
    Column("content", LargeBinary, nullable=False),
    Column("created_at", UTCDateTime(), nullable=False),
    UniqueConstraint("channel", "visitor", "key", name="uq_chat_files_key"),
)
