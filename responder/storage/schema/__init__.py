"""The database schema in SQLAlchemy Core, portable between SQLite and PostgreSQL: one
MetaData, its tables defined by group in this package and named here (`schema.replies`)."""

from responder.storage.schema.base import UTCDateTime, metadata
from responder.storage.schema.contacts import contact_identities, contacts
from responder.storage.schema.conversations import (
    blocked,
    chat_files,
    cursors,
    inbound,
    posts,
    replies,
    suppressions,
    thread_ids,
    ticket_events,
    tickets,
)
from responder.storage.schema.followup import early_marks, surveys, timers
from responder.storage.schema.housekeeping import (
    channel_health,
    forget_log,
    leases,
    meta,
    schema_version,
)

__all__ = [
    "UTCDateTime",
    "blocked",
    "channel_health",
    "chat_files",
    "contact_identities",
    "contacts",
    "cursors",
    "early_marks",
    "forget_log",
    "inbound",
    "leases",
    "meta",
    "metadata",
    "posts",
    "replies",
    "schema_version",
    "suppressions",
    "surveys",
    "thread_ids",
    "ticket_events",
    "tickets",
    "timers",
]
