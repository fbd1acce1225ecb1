"""Forgetting a person on request (issue 18; UU PDP 27/2022, GDPR article 17), pure: the
placeholder a forgotten customer becomes, and which stored words still name them."""

from __future__ import annotations

from collections.abc import Iterable

# tickets.customer (and every address of theirs) after `responder forget`: names the forget
# log's row, never the person, so nothing links it back to them.
FORGOTTEN = "forgotten:"
ERASED = "[removed on request]"  # where a text stood; " ?" kept when it asked a question
REASON = "the customer was forgotten (responder forget)"
# Events a customer's own message makes; their actor is the customer (name, address, id).
CUSTOMER_EVENTS = frozenset({"customer_reply", "email_left", "follows_up"})
CUSTOMER_REOPEN = "the customer wrote"  # a "reopened" event's detail when they reopened it


def placeholder(log_id: int) -> str:
    return f"{FORGOTTEN}{log_id}"


def is_forgotten(customer: str | None) -> bool:
    """Whether a ticket's customer was forgotten: nothing may be sent to them any more."""
    return bool(customer) and str(customer).startswith(FORGOTTEN)


def erased_text(text: str | None) -> str | None:
    """What a text becomes: None stays None; a question still reads as one (SLA clocks)."""
    if not text:
        return text
    return ERASED + " ?" if "?" in text else ERASED


def names_them(value: str | None, words: Iterable[str]) -> bool:
    """Whether a stored value holds one of the person's identifying words (any case)."""
    if not value:
        return False
    lower = value.lower()
    return any(word and word.lower() in lower for word in words)


def customer_actor(kind: str, detail: str | None) -> bool:
    """Whether an event's actor is the customer rather than staff or responder."""
    return kind in CUSTOMER_EVENTS or (kind == "reopened" and detail == CUSTOMER_REOPEN)
