"""Durable state: the database is the source of truth for cursors, tickets and replies."""

from responder.storage.store import InboundRow, ReplyRow, Store, TicketRow

__all__ = ["InboundRow", "ReplyRow", "Store", "TicketRow"]
