"""What every machine-mail guard shares: who we are, the verdict, and header helpers."""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass

from responder.common.text import sanitize_header_text
from responder.domain.message import MailHeaders


@dataclass(frozen=True)
class GuardContext:
    """Who "we" are, so that mail from or about ourselves is never answered."""

    own_addresses: frozenset[str]  # our channel address and aliases
    own_domains: frozenset[str]  # the domains our Message-IDs use
    own_message_ids: frozenset[str] = frozenset()

    def __post_init__(self) -> None:
        # Compare case-insensitively however the caller spelled them.
        object.__setattr__(self, "own_addresses", frozenset(a.lower() for a in self.own_addresses))
        object.__setattr__(self, "own_domains", frozenset(d.lower() for d in self.own_domains))
        ids = frozenset(i.strip().strip("<>") for i in self.own_message_ids)
        object.__setattr__(self, "own_message_ids", ids)


@dataclass(frozen=True)
class Verdict:
    """Why a message is machine mail: the rule's name and what it saw."""

    rule: str
    reason: str


Guard = Callable[[MailHeaders, GuardContext], str | None]


def show(value: str) -> str:
    """A header value fit for a stored reason: one line, at most 120 characters."""
    return sanitize_header_text(value, 120)


def keyword(value: str) -> str:
    """The first word of a header value: comments (RFC 5322 §3.2.2) and parameters dropped."""
    previous, value = None, value[:1000]
    while previous != value:
        previous, value = value, re.sub(r"\([^()]*\)", " ", value)
    return value.split(";", 1)[0].strip().lower()


def senders(mail: MailHeaders) -> list[tuple[str, str]]:
    """(header, address) for From and Sender, the addresses that speak for the author."""
    found = [("From", mail.from_addr)] if mail.from_addr else []
    sender = mail.first_address("Sender")
    return [*found, ("Sender", sender)] if sender else found


def local_part(address: str) -> str:
    """The part before the last @, lowercased, without a +tag."""
    return (address.rpartition("@")[0] or address).lower().split("+", 1)[0]
