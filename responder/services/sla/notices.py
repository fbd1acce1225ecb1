"""What a due SLA stage sends: the alert text, to whom, through which channel."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from responder.core.channel import ChannelProfile, Draft, Topic
from responder.core.formatting import format_opening
from responder.core.settings import Settings
from responder.core.sla.plan import ClockView
from responder.core.sla.wording import clock_name, format_span
from responder.domain.records import NewReply
from responder.domain.sla_policy import SLA_ALERT, Audience, Policy, Stage
from responder.domain.timers import TicketFacts

Send = tuple[str, int | None, NewReply]  # (channel, ticket id or None, reply)


@dataclass(frozen=True)
class Due:
    """One stage of one ticket's clock that fell due, with what the alert shows."""

    timer_id: int
    ticket: TicketFacts
    policy: Policy
    stage: Stage
    view: ClockView
    excerpt: str
    topic: int | None  # the ticket's forum topic in its own staff group, if it has one


def alert_sends(settings: Settings, due: Due, now: datetime) -> list[Send]:
    """One email per staff address, one post per staff group; nothing if nobody is set."""
    home = settings.profiles.get(due.ticket.channel)
    emails, groups = recipients(settings, home, due.stage.audience)
    sends: list[Send] = []
    kind = SLA_ALERT  # the timer's id goes in its own column (issue 15)
    sender = mailer(settings, home)
    if emails and sender is not None:
        context = _context(settings, due, sender, now)
        rendered = sender.wire.content(
            settings.templates, SLA_ALERT, [sender.language, "en"], context
        )
        home_ticket = due.ticket.id if sender is home else None
        for to in emails:
            draft = Draft.of(kind, to, rendered, notice=True)
            sends.append((sender.name, home_ticket, sender.wire.render(draft, sender, now)))
    for profile in groups:
        assert profile.staff_chat is not None
        context = _context(settings, due, profile, now)
        rendered = profile.wire.content(
            settings.templates, SLA_ALERT, [profile.language, "en"], context
        )
        mine = is_desk(profile, home)
        name = f"#{due.ticket.ref} {due.ticket.customer_name}".strip()[:128]
        topic = Topic(due.ticket.ref, name, due.topic) if mine else None
        draft = Draft.of(kind, str(profile.staff_chat), rendered, notice=True, topic=topic)
        # Tied to the ticket only in its desk, where answering the alert answers the
        # customer; another group cannot reach them.
        sends.append(
            (
                profile.name,
                due.ticket.id if mine else None,
                profile.wire.render(draft, profile, now),
            )
        )
    return sends


def recipients(
    settings: Settings, home: ChannelProfile | None, audience: Audience
) -> tuple[Sequence[str], list[ChannelProfile]]:
    """By default the ticket's own channel's staff: its addresses, and its staff group."""
    if audience.is_default:
        if home is None:
            return (), []
        desk = settings.profiles.get(home.desk) if home.desk else None
        if desk is not None and desk.staff_chat is None and desk.wire.reaches_addresses:
            # A mailbox as the desk (a web chat's, issue 17): its staff addresses hear it.
            return tuple(dict.fromkeys((*home.staff, *desk.staff))), []
        return home.staff, [desk] if desk is not None and desk.staff_chat is not None else []
    groups = [settings.profiles[n] for n in audience.telegram if n in settings.profiles]
    return audience.emails, [p for p in groups if p.staff_chat is not None]


def is_desk(profile: ChannelProfile, home: ChannelProfile | None) -> bool:
    """Whether `profile`'s staff group is the desk of the ticket's channel `home`: its own
    group, or the group that hears another channel's tickets (staff_desk)."""
    return home is not None and profile.name == home.desk


def mailer(settings: Settings, home: ChannelProfile | None) -> ChannelProfile | None:
    """The ticket's own mailbox, else its desk's mailbox, else the first channel that writes
    to addresses, sends alerts to staff addresses."""
    if home is not None and home.wire.reaches_addresses:
        return home
    desk = settings.profiles.get(home.desk) if home is not None and home.desk else None
    if desk is not None and desk.wire.reaches_addresses:
        return desk  # a web chat's desk mailbox: staff reply to it, in the ticket's thread
    return next((p for p in settings.profiles.values() if p.wire.reaches_addresses), None)


def _context(
    settings: Settings, due: Due, profile: ChannelProfile, now: datetime
) -> dict[str, Any]:
    lang = profile.language
    view, stage, ticket = due.view, due.stage, due.ticket
    elapsed = view.state.elapsed
    target = view.target.minutes
    zone = settings.calendar.timezone
    due_at = view.due_at
    return {
        "language": lang,
        "ticket": {"ref": ticket.ref},
        "customer": {"name": ticket.customer_name, "address": ticket.customer},
        "message": {"subject": ticket.subject, "excerpt": due.excerpt},
        "channel": {"name": ticket.channel, "address": profile.address},
        "business": {"name": profile.display_name or profile.address, "address": profile.address},
        "sla": {
            "stage": stage.kind,
            "clock": view.target.clock,
            "clock_name": clock_name(view.target.clock, lang),
            "policy": due.policy.name,
            "target": format_span(target, lang),
            "waited": format_span(elapsed, lang),
            "left": format_span(max(target - elapsed, 0), lang) if stage.kind == "reminder" else "",
            "over": "" if stage.kind == "reminder" else format_span(max(elapsed - target, 0), lang),
            "due": format_opening(due_at.astimezone(zone), lang, now) if due_at else "",
            "business_time": due.policy.business_time,
        },
    }
