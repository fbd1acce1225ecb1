"""Deciding one email: guards, threading, rules, and the reply and staff notices it makes."""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Callable
from datetime import datetime

from responder.core import guards, tickets
from responder.core.chat.decide import StaffReply
from responder.core.csat.answer import read_answer
from responder.core.decide import (
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
from responder.core.outcome import Outcome
from responder.core.planning import Plan, plan, staff_context
from responder.core.settings import ChannelProfile, Settings
from responder.core.templates import Rendered
from responder.domain.csat import SurveyAnswer
from responder.domain.records import InboundRow, NewEvent, NewReply, NewTicket
from responder.services.chat.plan import EVENT_TEXT
from responder.wire.email.compose import ReplySpec, build_reply, new_message_id
from responder.wire.email.parse import ParsedMail


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
    staff_ref = _staff_reply_ref(mail, profile, view)
    if staff_ref is not None:
        # A staff member answered from their own mail client (seen in the Sent folder, or
        # Cc/Bcc to us): no reply, and the ticket's first-response clock stops (issue 5).
        view.joined(staff_ref, mail.message_id)
        event = NewEvent("staff_reply", mail.from_addr or "", _new_text(mail.text), row.received_at)
        answered = StaffReply(staff_ref, "")
        return Outcome(
            row.id, row.channel, mail.from_addr, mail.subject, own_ids, answered, events=(event,)
        )
    if (mail.from_addr or "").lower() in profile.staff:
        # Staff mail that answers no ticket (a new message they Cc'd us on, or sent from the
        # shared mailbox) is theirs to handle: acknowledging it would answer our own team.
        why = Suppress("staff-sender", "from a staff address, in no ticket's thread")
        return Outcome(row.id, row.channel, mail.from_addr, mail.subject, own_ids, why)
    planned = plan(mail, settings, profile, view, now, new_ref, hours)
    decision = planned.decision
    outcome = Outcome(row.id, row.channel, mail.from_addr, mail.subject, own_ids, decision)
    if isinstance(decision, FollowUp):
        view.joined(decision.ref, mail.message_id)
        answer = _survey_answer(settings, view, decision.ref, mail, now)
        if answer is not None:
            # A rating, not a new question: the ticket stays as it is (issue 6).
            return dataclasses.replace(outcome, survey=answer)
        # The customer wrote again: a ticket waiting on them counts SLA time again.
        event = NewEvent("customer_reply", mail.from_addr or "", None, row.received_at)
        return dataclasses.replace(outcome, events=(event,))
    if not isinstance(decision, Acknowledge | Record):
        return outcome
    subject = tickets.base_subject(mail.subject)
    language = (
        planned.rendered.language if planned.rendered else (planned.detected or profile.language)
    )
    ticket = NewTicket(
        decision.ref,
        profile.name,
        decision.target,
        mail.from_name,
        subject,
        language,
        _utc_offset(mail.date),
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


def _utc_offset(date: datetime | None) -> int | None:
    """The sender's own UTC offset (RFC 5322 section 3.3), so their survey comes at a decent
    local hour. UTC itself is not trusted: "-0000" means unknown, and webmail servers stamp
    "+0000" whatever the sender's zone."""
    offset = date.utcoffset() if date is not None else None
    if offset is None or not offset:
        return None
    return int(offset.total_seconds() // 60)


def _survey_answer(
    settings: Settings, view: View, ref: str, mail: ParsedMail, now: datetime
) -> SurveyAnswer | None:
    """The ticket's survey answered by its customer, while it is open: "4, terima kasih"."""
    info, csat = view.surveys.get(ref), settings.csat
    if (
        info is None
        or csat is None
        or info.sent_at is None
        or now > info.sent_at + csat.answer_within
    ):
        return None
    wanted = info.recipient.lower()
    # From, or the Reply-To the survey went to: someone else in the thread is not rating.
    if wanted not in {(mail.from_addr or "").lower(), (tickets.reply_target(mail) or "").lower()}:
        return None
    found = read_answer(mail.text, nps_asked=csat.nps)
    if found is None:
        return None
    return SurveyAnswer(info.id, found.rating, found.nps, found.comment, "email")


def _staff_reply_ref(mail: ParsedMail, profile: ChannelProfile, view: View) -> str | None:
    """The ticket a staff member's own message answers, if it is one: from a staff address
    or our own, not one of our automatic replies, not machine mail, and in a ticket's thread."""
    # Config addresses and own_addresses are lowercase already.
    sender = (mail.from_addr or "").lower()
    if sender not in profile.staff and sender not in profile.guard.own_addresses:
        return None
    if mail.message_id in view.ref_by_message_id:
        return None
    verdict = guards.check(mail, profile.guard)
    if verdict is not None and verdict.rule != "own-address":
        return None  # an out-of-office from a staff member is not an answer
    for message_id in tickets.thread_message_ids(mail):
        if message_id in view.ref_by_message_id:
            return view.ref_by_message_id[message_id]
    return next((r for r in tickets.refs_in_subject(mail.subject) if r in view.existing_refs), None)


# Where a mail client starts quoting what is being answered.
_QUOTE_HEAD = re.compile(
    r"^(On .{0,200} wrote:|Pada .{0,200} menulis:|-{2,} ?(Original Message|Pesan Asli) ?-{2,})",
    re.IGNORECASE,
)


def _new_text(text: str) -> str | None:
    """What a staff member wrote, without the quoted message they answered."""
    lines = []
    for line in text.splitlines():
        if _QUOTE_HEAD.match(line.strip()):
            break
        if not line.lstrip().startswith(">"):
            lines.append(line)
    return "\n".join(lines).strip()[:EVENT_TEXT] or None


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
    notices = [
        staff_mail(profile, staff, rendered, now, STAFF_NOTIFICATION) for staff in profile.staff
    ]
    return tuple(notices)


def staff_mail(
    profile: ChannelProfile, to: str, rendered: Rendered, now: datetime, kind: str
) -> NewReply:
    """A message to one staff member, sent as auto-generated mail (RFC 3834 section 5)."""
    message_id = new_message_id(profile.domain)
    spec = ReplySpec(
        from_addr=profile.address,
        from_name=profile.display_name,
        to_addr=to,
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
    return NewReply(kind, to, profile.envelope_from, message_id, build_reply(spec))


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
