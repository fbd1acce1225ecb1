"""Ticket references and threading: which conversation a message belongs to."""

from __future__ import annotations

import re
import secrets

from responder.domain.message import MailHeaders

# No 0/O, 1/I/L: a reference is read aloud on the phone and typed from a printout.
ALPHABET = "23456789ABCDEFGHJKMNPQRSTUVWXYZ"
REF_LENGTH = 6
_REF_IN_SUBJECT = re.compile(r"\[#([2-9A-HJKMNP-Z]{6})\]", re.IGNORECASE)
# Reply and forward prefixes in the languages our customers write in, each possibly numbered
# ("Re[2]:") as some clients do; stripped so "Re: " is added once.
_PREFIX = re.compile(
    r"^\s*(?:re|aw|sv|vs|antw|balas|bls|fw|fwd|tr|wg)\s*(?:\[\d+\]|\(\d+\))?\s*[:：]\s*",
    re.IGNORECASE,
)


_REFS = len(ALPHABET) ** REF_LENGTH


def new_ref() -> str:
    # One draw for the whole reference, not one per character: each draw reads the OS's
    # random source, and a burst asks for two candidates per message.
    n = secrets.randbelow(_REFS)
    chars = []
    for _ in range(REF_LENGTH):
        n, digit = divmod(n, len(ALPHABET))
        chars.append(ALPHABET[digit])
    return "".join(chars)


def refs_in_subject(subject: str) -> list[str]:
    return [m.upper() for m in _REF_IN_SUBJECT.findall(subject)]


def base_subject(subject: str) -> str:
    """The subject without reply/forward prefixes or our own reference tag."""
    previous = None
    while previous != subject:
        previous = subject
        subject = _PREFIX.sub("", subject)
    return " ".join(_REF_IN_SUBJECT.sub(" ", subject).split())


def thread_message_ids(mail: MailHeaders) -> list[str]:
    """Ids a reply names as its parents, nearest first (RFC 5322 section 3.6.4)."""
    seen: list[str] = []
    for message_id in (*mail.in_reply_to, *reversed(mail.references)):
        if message_id not in seen:
            seen.append(message_id)
    return seen


def reply_target(mail: MailHeaders) -> str | None:
    """Reply-To when it names exactly one usable address, else From (RFC 5322 section 3.6.2)."""
    if len(mail.reply_to) == 1:
        return mail.reply_to[0]
    return mail.from_addr
