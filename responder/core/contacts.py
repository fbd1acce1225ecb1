"""Contacts, pure (issue 18): which identity a ticket's customer is, and what to link."""

from __future__ import annotations

import re
from dataclasses import dataclass

# The identity kinds a contact keeps, by the kind of the channel a customer wrote on.
KIND_BY_CHANNEL = {
    "email": "email",
    "telegram": "telegram",
    "whatsapp": "whatsapp",
    "webchat": "web",
}
KINDS = ("email", "telegram", "whatsapp", "web")
SEEN, AUTO, STAFF = "seen", "auto", "staff"  # how an identity came to its contact

_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
_PHONE = re.compile(r"^\+\d{6,15}$")  # E.164: at most 15 digits
_REF = re.compile(r"^#?[A-Z0-9]{4,16}$")


@dataclass(frozen=True)
class Identity:
    kind: str  # email, telegram, whatsapp, web
    value: str  # lowercase address, Telegram chat id, +E.164 number, web:ID


@dataclass(frozen=True)
class ContactLink:
    """Two identities that are one person: their contacts become one. `second` may be None
    for an identity seen alone (a ticket opened for it). `refs`: tickets whose contact is
    set from these identities if they have none yet (opened before contacts existed)."""

    first: Identity
    second: Identity | None
    how: str
    refs: tuple[str, ...] = ()
    name: str = ""  # a display name for a contact made now (never a reason to link)


def identity_of(channel_kind: str, customer: str) -> Identity | None:
    """The identity a ticket's customer (tickets.customer) is on a channel of this kind."""
    kind = KIND_BY_CHANNEL.get(channel_kind)
    value = customer.strip()
    if kind is None or not value:
        return None
    if kind == "email":
        return Identity(kind, value.lower())
    if kind == "whatsapp":
        # A wa_id is the number without its "+" (WhatsApp Cloud API webhooks); kept as E.164.
        return Identity(
            kind, value if value.startswith("+") or not value.isdigit() else f"+{value}"
        )
    return Identity(kind, value)


def parse_identity(text: str) -> Identity | str | None:
    """What an admin types: an address, +62..., tg:ID, web:ID; or a ticket reference (str)."""
    value = text.strip()
    if not value:
        return None
    lower = value.lower()
    if lower.startswith("mailto:"):
        value, lower = value[7:], lower[7:]
    if _EMAIL.match(value):
        return Identity("email", lower)
    if _PHONE.match(value.replace(" ", "").replace("-", "")):
        return Identity("whatsapp", value.replace(" ", "").replace("-", ""))
    if lower.startswith(("tg:", "telegram:")):
        chat = value.split(":", 1)[1].strip()
        return Identity("telegram", chat) if chat.lstrip("-").isdigit() else None
    if lower.startswith("web:") and len(value) > 4:
        return Identity("web", value)
    if _REF.match(value.upper()):
        return value.upper().lstrip("#")
    return None


def seen(channel_kind: str, customer: str, ref: str, name: str) -> ContactLink | None:
    """A ticket opened for `customer`: their identity joins (or makes) a contact."""
    found = identity_of(channel_kind, customer)
    return ContactLink(found, None, SEEN, (ref,), name) if found is not None else None


def email_left(channel_kind: str, customer: str, address: str, ref: str) -> ContactLink | None:
    """A web chat visitor left an email address (the offline form): the same person as
    whoever writes from that address, which becomes an identity of theirs if it is none."""
    found = identity_of(channel_kind, customer)
    left = address.strip().lower()
    if found is None or not _EMAIL.match(left) or found == Identity("email", left):
        return None
    return ContactLink(found, Identity("email", left), AUTO, (ref,))


def shared_phone(channel_kind: str, customer: str, phone: str | None) -> ContactLink | None:
    """A Telegram user who shared their own phone number: the same person as that WhatsApp
    number. Never a name: two people share a name, not a number."""
    found = identity_of(channel_kind, customer)
    number = (phone or "").replace(" ", "")
    number = number if number.startswith("+") else f"+{number}"
    if found is None or found.kind != "telegram" or not _PHONE.match(number):
        return None
    return ContactLink(found, Identity("whatsapp", number), AUTO)


def by_staff(first: Identity, second: Identity, refs: tuple[str, ...] = ()) -> ContactLink | None:
    """Staff say two identities are one person; linking one to itself says nothing."""
    return None if first == second else ContactLink(first, second, STAFF, refs)


def shown(identity: Identity) -> str:
    """An identity as staff and admins type it back."""
    return f"tg:{identity.value}" if identity.kind == "telegram" else identity.value
