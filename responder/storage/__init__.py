"""Durable state: the database is the source of truth for cursors, tickets and replies."""

from responder.domain.records import InboundRow, ReplyRow
from responder.storage.store import Store

__all__ = ["InboundRow", "ReplyRow", "Store"]
