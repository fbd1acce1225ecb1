"""Deciding one email: guards, threading, rules, and the reply and staff notices it makes."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from datetime import datetime

from responder.core.channel import ChannelProfile, Draft, Parent
from responder.core.csat.answer import read_answer
from responder.core.decisions import (
    OUT_OF_HOURS,
    STAFF_NOTIFICATION,
    Acknowledge,
    FollowUp,
    Moment,
    Record,
    StaffReply,
    Suppress,
)
from responder.core.planning import Plan, plan, staff_context
from responder.core.settings import Settings
from responder.core.staff import new_text
from responder.core.view import View
from responder.domain.csat import SurveyAnswer
from responder.domain.message import Message
from responder.domain.records import InboundRow, NewEvent, NewReply, NewTicket
from responder.storage.decisions import Outcome


def decide_mail(
    settings: Settings,
    row: InboundRow,
    mail: Message | None,
    view: View,
    now: datetime,
    hours: tuple[Moment, datetime | None],
    new_ref: Callable[[], str],
) -> Outcome:
    profile = settings.profiles.get(row.channel)
    if profile is None or mail is None:
        gone = Suppress("unknown-channel", f"channel {row.channel!r} is gone")
        return Outcome(row.id, row.channel, None, "", (), gone)
    own_ids = mail.thread.own_ids
    sender, subject = mail.sender.address, mail.subject
    planned = plan(mail, settings, profile, view, now, new_ref, hours)
    decision = planned.decision
    outcome = Outcome(row.id, row.channel, sender, subject, own_ids, decision)
    if isinstance(decision, StaffReply):
        # A staff member answered from their own mail client (seen in the Sent folder, or
        # Cc/Bcc to us): no reply, and the ticket's first-response clock stops (issue 5).
        view.joined(decision.ref, mail.thread.message_id)
        event = NewEvent("staff_reply", mail.sender.actor, new_text(mail.text), mail.at)
        return dataclasses.replace(outcome, events=(event,))
    if isinstance(decision, FollowUp):
        view.joined(decision.ref, mail.thread.message_id)
        answer = _survey_answer(settings, view, decision.ref, mail, now)
        if answer is not None:
            # A rating, not a new question: the ticket stays as it is (issue 6).
            return dataclasses.replace(outcome, survey=answer)
        # The customer wrote again: a ticket waiting on them counts SLA time again.
        event = NewEvent("customer_reply", mail.sender.actor, None, mail.at)
        return dataclasses.replace(outcome, events=(event,))
    if not isinstance(decision, Acknowledge | Record):
        return outcome
    language = (
        planned.rendered.language if planned.rendered else (planned.detected or profile.language)
    )
    ticket = NewTicket(
        decision.ref,
        profile.name,
        decision.target,
        mail.sender.name,
        mail.title,
        language,
        _utc_offset(mail.date),
    )
    reply = None
    if isinstance(decision, Acknowledge) and planned.rendered is not None:
        reply = _reply(mail, profile, decision, planned, now)
    notices: tuple[NewReply, ...] = ()
    if decision.action.notify_staff and profile.staff:
        notices = _notices(settings, mail, profile, decision, now)
    view.opened(decision, planned.moment, [*own_ids, reply.message_id if reply else None])
    closed_reply = isinstance(decision, Acknowledge) and decision.template == OUT_OF_HOURS
    period = planned.moment.period if closed_reply else None
    return Outcome(
        row.id,
        row.channel,
        sender,
        subject,
        own_ids,
        decision,
        ticket=ticket,
        reply=reply,
        period=period,
        notices=notices,
    )


def _utc_offset(date: datetime | None) -> int | None:
    """The sender's own UTC offset (RFC 5322 section 3.3), so their survey comes at a decent
    local hour. UTC itself is not trusted: "-0000" means unknown, and webmail servers stamp
    "+0000" whatever the sender's zone."""
    offset = date.utcoffset() if date is not None else None
    if offset is None or not offset:
        return None
    return int(offset.total_seconds() // 60)


def _survey_answer(
    settings: Settings, view: View, ref: str, mail: Message, now: datetime
) -> SurveyAnswer | None:
    """The ticket's survey answered by its customer, while it is open: "4, terima kasih"."""
    info, csat = view.surveys_by_ref.get(ref), settings.csat
    if (
        info is None
        or csat is None
        or info.sent_at is None
        or now > info.sent_at + csat.answer_within
    ):
        return None
    wanted = info.recipient.lower()
    # From, or the Reply-To the survey went to: someone else in the thread is not rating.
    if wanted not in {(mail.sender.address or "").lower(), (mail.sender.reply_to or "").lower()}:
        return None
    found = read_answer(mail.text, nps_asked=csat.nps)
    if found is None:
        return None
    return SurveyAnswer(info.id, found.rating, found.nps, found.comment, "email")


def _notices(
    settings: Settings,
    mail: Message,
    profile: ChannelProfile,
    decision: Acknowledge | Record,
    now: datetime,
) -> tuple[NewReply, ...]:
    """One notice per staff address, answering nobody's message (RFC 3834 section 5)."""
    context = staff_context(profile, mail, decision)
    rendered = profile.wire.content(
        settings.templates, STAFF_NOTIFICATION, [profile.language, "en"], context
    )
    drafts = [Draft.of(STAFF_NOTIFICATION, to, rendered, notice=True) for to in profile.staff]
    return tuple(profile.wire.render(draft, profile, now) for draft in drafts)


def _reply(
    mail: Message,
    profile: ChannelProfile,
    decision: Acknowledge,
    planned: Plan,
    now: datetime,
) -> NewReply:
    rendered = planned.rendered
    assert rendered is not None
    to_name = mail.sender.name if decision.target == mail.sender.address else ""
    draft = Draft.of(
        decision.template, decision.target, rendered, to_name=to_name, parent=Parent.of(mail)
    )
    return profile.wire.render(draft, profile, now)
