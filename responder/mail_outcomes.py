"""Deciding one email: guards, threading, rules, and the reply and staff notices it makes."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from responder import tickets
from responder.decide import (
    MAX_MESSAGE_ID,
    OUT_OF_HOURS,
    STAFF_NOTIFICATION,
    Acknowledge,
    FollowUp,
    Moment,
    Record,
    Suppress,
    View,
)
from responder.mail.compose import ReplySpec, build_reply, new_message_id
from responder.mail.parse import ParsedMail
from responder.planning import ChannelProfile, Plan, plan, staff_context
from responder.settings import Settings
from responder.storage.decisions import Outcome
from responder.storage.records import InboundRow, NewReply, NewTicket


def decide_mail(
    settings: Settings,
    row: InboundRow,
    mail: ParsedMail,
    view: View,
    now: datetime,
    hours: tuple[Moment, datetime | None],
    new_ref: Callable[[], str],
) -> Outcome:
    own_ids = tuple(i for i in (mail.message_id, row.external_id) if i and len(i) <= MAX_MESSAGE_ID)
    profile = settings.profiles.get(row.channel)
    if profile is None:
        gone = Suppress("unknown-channel", f"channel {row.channel!r} is gone")
        return Outcome(row.id, row.channel, mail.from_addr, mail.subject, own_ids, gone)
    planned = plan(mail, settings, profile, view, now, new_ref, hours)
    decision = planned.decision
    outcome = Outcome(row.id, row.channel, mail.from_addr, mail.subject, own_ids, decision)
    if isinstance(decision, FollowUp):
        view.joined(decision.ref, mail.message_id)
    if not isinstance(decision, Acknowledge | Record):
        return outcome
    subject = tickets.base_subject(mail.subject)
    language = (
        planned.rendered.language if planned.rendered else (planned.detected or profile.language)
    )
    ticket = NewTicket(
        decision.ref, profile.name, decision.target, mail.from_name, subject, language
    )
    reply = None
    if isinstance(decision, Acknowledge) and planned.rendered is not None:
        reply = _reply(mail, profile, decision, planned, now)
    notices: tuple[NewReply, ...] = ()
    if decision.action.notify_staff and profile.staff:
        notices = _notices(settings, mail, profile, decision, now)
    view.opened(decision, [*own_ids, reply.message_id if reply else None], planned.moment)
    closed_reply = isinstance(decision, Acknowledge) and decision.template == OUT_OF_HOURS
    period = planned.moment.period if closed_reply else None
    return Outcome(
        row.id,
        row.channel,
        mail.from_addr,
        mail.subject,
        own_ids,
        decision,
        ticket=ticket,
        reply=reply,
        period=period,
        notices=notices,
    )


def _notices(
    settings: Settings,
    mail: ParsedMail,
    profile: ChannelProfile,
    decision: Acknowledge | Record,
    now: datetime,
) -> tuple[NewReply, ...]:
    """One notice per staff member, sent as auto-generated mail (RFC 3834 section 5)."""
    rendered = settings.templates.render(
        STAFF_NOTIFICATION, [profile.language, "en"], staff_context(profile, mail, decision)
    )
    notices = []
    for staff in profile.staff:
        message_id = new_message_id(profile.domain)
        spec = ReplySpec(
            from_addr=profile.address,
            from_name=profile.display_name,
            to_addr=staff,
            to_name="",
            subject=rendered.subject,
            text=rendered.text,
            html=rendered.html,
            message_id=message_id,
            date=now,
            parent_id=None,
            parent_references=(),
            parent_in_reply_to=(),
            auto_submitted="auto-generated",
        )
        notices.append(
            NewReply(
                STAFF_NOTIFICATION, staff, profile.envelope_from, message_id, build_reply(spec)
            )
        )
    return tuple(notices)


def _reply(
    mail: ParsedMail,
    profile: ChannelProfile,
    decision: Acknowledge,
    planned: Plan,
    now: datetime,
) -> NewReply:
    rendered = planned.rendered
    assert rendered is not None
    message_id = new_message_id(profile.domain)
    message = build_reply(
        ReplySpec(
            from_addr=profile.address,
            from_name=profile.display_name,
            to_addr=decision.target,
            to_name=mail.from_name if decision.target == mail.from_addr else "",
            subject=rendered.subject,
            text=rendered.text,
            html=rendered.html,
            message_id=message_id,
            date=now,
            parent_id=mail.message_id,
            parent_references=mail.references,
            parent_in_reply_to=mail.in_reply_to,
        )
    )
    return NewReply(decision.template, decision.target, profile.envelope_from, message_id, message)
