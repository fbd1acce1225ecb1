"""What the staff group's contact commands do, pure (issue 18): /link REF REF and /history
REF; the links a new ticket or a left address makes, and a new ticket's history line."""

from __future__ import annotations

import dataclasses
from datetime import datetime
from typing import Any

from responder.core.channel import ChannelProfile
from responder.core.contacts import (
    ContactLink,
    Identity,
    by_staff,
    email_left,
    identity_of,
    seen,
    shared_phone,
    shown,
)
from responder.core.decisions import Acknowledge, Decision, Record, StaffCommand
from responder.core.history import Shown, history_answer, history_context, history_line
from responder.core.outcome import Outcome
from responder.core.relay import to_staff
from responder.core.settings import Settings
from responder.core.view import View
from responder.domain.message import Message
from responder.domain.records import NewEvent


def contact_outcome(
    base: Outcome,
    msg: Message,
    profile: ChannelProfile,
    decision: StaffCommand,
    view: View,
    settings: Settings,
    now: datetime,
) -> Outcome:
    """The answer in the group, and for /link the contacts to join and an event on each."""
    desk = profile.wire.desk
    assert desk is not None
    language, ref = profile.language, decision.ref
    if decision.command == "history":
        said = history_answer(
            desk, language, ref, view.histories.get(f"#{ref}"), settings.vip, _shown(settings)
        )
        return dataclasses.replace(base, notices=(to_staff(profile, said, msg, now),))
    other = decision.text
    first, second = view.histories.get(f"#{ref}"), view.histories.get(f"#{other}")
    if first is not None and second is not None and first.contact == second.contact:
        said = desk.say(language, "already_linked", ref=ref, other=other)
        return dataclasses.replace(base, notices=(to_staff(profile, said, msg, now),))
    a, b = _identity(settings, view, ref), _identity(settings, view, other)
    link = by_staff(a, b, (ref, other)) if a is not None and b is not None else None
    if link is None:
        said = desk.say(language, "already_linked", ref=ref, other=other)
        return dataclasses.replace(base, notices=(to_staff(profile, said, msg, now),))
    known = {*(first.identities if first else ()), *(second.identities if second else ())}
    who = ", ".join(sorted({shown(i) for i in (*known, link.first, link.second or link.first)}))
    said = desk.say(language, "linked", ref=ref, other=other, who=who)
    event = NewEvent("linked", msg.sender.actor, f"#{other}")
    return dataclasses.replace(
        base, events=(event,), notices=(to_staff(profile, said, msg, now),), contacts=(link,)
    )


def opened_links(
    profile: ChannelProfile, decision: Acknowledge | Record, msg: Message
) -> tuple[ContactLink, ...]:
    """A new ticket's customer is an identity of a contact (made now if none), and the
    WhatsApp number of the phone they shared is theirs too."""
    found = seen(profile.wire.kind, decision.target, decision.ref, msg.sender.name)
    opened = (found,) if found is not None else ()
    return opened + phone_links(profile, decision.target, msg)


def phone_links(profile: ChannelProfile, customer: str, msg: Message) -> tuple[ContactLink, ...]:
    """A customer who shared their own phone number is whoever writes from it on WhatsApp."""
    if msg.phone is None:
        return ()
    found = shared_phone(profile.wire.kind, customer, msg.phone)
    return (found,) if found is not None else ()


def left_links(
    view: View, profile: ChannelProfile, ref: str, address: str
) -> tuple[ContactLink, ...]:
    """A visitor who left an address is whoever writes from it (issue 18)."""
    info = view.tickets.get(ref)
    found = email_left(profile.wire.kind, info.customer, address, ref) if info else None
    return (found,) if found is not None else ()


def new_ticket_history(
    settings: Settings, desk_profile: ChannelProfile | None, decision: Decision, view: View
) -> str:
    """The history line a new ticket's post in the staff group carries, or ""."""
    words = desk_profile.wire.desk if desk_profile is not None else None
    if words is None or desk_profile is None or not isinstance(decision, Acknowledge | Record):
        return ""
    history = view.histories.get(decision.target)
    return history_line(
        words,
        desk_profile.language,
        history,
        settings.vip,
        decision.ref,
        _shown(settings),
        decision.target,
    )


def _identity(settings: Settings, view: View, ref: str) -> Identity | None:
    info = view.tickets.get(ref)
    profile = settings.profiles.get(info.channel) if info is not None else None
    if info is None or profile is None:
        return None
    return identity_of(profile.wire.kind, info.customer)


def _shown(settings: Settings) -> Shown:
    kinds = {name: p.wire.kind for name, p in settings.profiles.items()}
    return Shown(kinds, settings.calendar.timezone)


def notice_history(
    settings: Settings, decision: Acknowledge | Record, view: View
) -> dict[str, Any]:
    """The contact's history in a staff notification's context (`history`)."""
    found = view.histories.get(decision.target)
    return history_context(found, decision.ref, settings.vip, decision.target, _shown(settings))
