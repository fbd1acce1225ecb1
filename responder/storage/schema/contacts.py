"""Tables of the people behind the tickets (issue 18): contacts and every identity they used."""

from __future__ import annotations

from sqlalchemy import Column, ForeignKey, Index, Integer, String, Table, UniqueConstraint

from responder.storage.schema.base import OutsideString, UTCDateTime, metadata

# Since schema version 11: one row per person; tickets.contact_id names theirs.
contacts = Table(
    "contacts",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("name", OutsideString(200), nullable=False, default=""),
    Column("created_at", UTCDateTime(), nullable=False),
)

# An email address, a Telegram chat, a WhatsApp number (+62...) or a web visitor (web:ID):
# each belongs to one contact. `how`: seen (a ticket was opened for it), auto (the same
# address or number appeared), staff (/link, `responder contact link`).
contact_identities = Table(
    "contact_identities",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("contact_id", Integer, ForeignKey("contacts.id"), nullable=False),
    Column("kind", String(16), nullable=False),
    Column("value", OutsideString(320), nullable=False),
    Column("how", String(16), nullable=False),
    Column("created_at", UTCDateTime(), nullable=False),
    UniqueConstraint("kind", "value", name="uq_contact_identities_kind_value"),
    Index("ix_contact_identities_contact", "contact_id"),
)
