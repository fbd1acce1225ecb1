"""Tables of the database and the daemon about themselves: schema version, meta, channel health."""

from __future__ import annotations

from sqlalchemy import Column, Integer, String, Table, Text

from responder.storage.schema.base import OutsideText, UTCDateTime, metadata

# One row per migration applied (migrations.py).
schema_version = Table(
    "schema_version",
    metadata,
    Column("version", Integer, primary_key=True, autoincrement=False),
    Column("applied_at", UTCDateTime(), nullable=False),
)

# Since schema version 4: small facts about the database itself, such as the fingerprint of
# the SLA policies its timers were planned with.
meta = Table(
    "meta",
    metadata,
    Column("key", String(64), primary_key=True),
    Column("value", Text, nullable=False),
)

# Since schema version 7: each channel's health as the daemon last saw it (issue 14), for
# `responder status`, a separate process. updated_at doubles as the daemon's heartbeat.
# Since version 17, one row per channel and instance (issue 19): each instance says what it
# sees, and `status` shows the one that runs the channel.
channel_health = Table(
    "channel_health",
    metadata,
    Column("channel", String(64), primary_key=True),
    Column("instance", String(200), primary_key=True, server_default=""),
    Column("state", String(16), nullable=False),
    Column("since", UTCDateTime(), nullable=False),
    Column("problem", OutsideText, nullable=True),
    Column("remedy", Text, nullable=True),
    Column("key", String(200), nullable=True),  # the config key to look at
    Column("updated_at", UTCDateTime(), nullable=False),
)

# Since schema version 13: each `responder forget` (issue 18; UU PDP 27/2022, GDPR article
# 17): when, which OS user ran it and how much it erased. Never who was forgotten: the row
# proves the request was carried out without keeping what it asked to erase.
forget_log = Table(
    "forget_log",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("forgotten_at", UTCDateTime(), nullable=False),
    Column("by_user", String(64), nullable=False),
    Column("tickets", Integer, nullable=False),
    Column("messages", Integer, nullable=False),
    Column("replies", Integer, nullable=False),
    Column("texts", Integer, nullable=False),  # staff replies, notes, event details
    Column("comments", Integer, nullable=False),
    Column("files", Integer, nullable=False),
    Column("identities", Integer, nullable=False),
)

# Since schema version 14 (issue 19): who holds each exclusive role among the instances that
# share this database (an IMAP folder's intake, a bot's polling, the timers), and until when.
# A holder renews its rows every heartbeat; one that stops (killed, cut off) loses them at
# expires_at and another takes them over. holder is None once released at a clean stop.
leases = Table(
    "leases",
    metadata,
    Column("name", String(200), primary_key=True),
    Column("holder", String(200), nullable=True),  # host:pid:random, one per process
    Column("info", String(300), nullable=False),  # the holder's host, pid and version
    Column("acquired_at", UTCDateTime(), nullable=False),
    Column("renewed_at", UTCDateTime(), nullable=False),
    Column("expires_at", UTCDateTime(), nullable=False),
)
