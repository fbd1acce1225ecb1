"""The one reply planner, pure: a batch's decided messages become outcomes to record."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from datetime import datetime

from responder.core.channel import ChannelProfile, Copy, Draft, Parent
from responder.core.contact_desk import (
    contact_outcome,
    left_links,
    new_ticket_history,
    notice_history,
    opened_links,
    phone_links,
)
from responder.core.contexts import calendar_context, render_context, staff_context
from responder.core.decisions import (
    OUT_OF_HOURS,
    STAFF_NOTIFICATION,
    WELCOME,
    Acknowledge,
    FollowUp,
    Moment,
    Record,
    StaffCommand,
    StaffReply,
    Suppress,
    SurveyNote,
    SurveyVote,
    Welcome,
)
from responder.core.mail_desk import (
    MailRelay,
    answers_by_mail,
    mail_notices,
    mail_relay,
    staff_mail_answer,
)
from responder.core.merging import merge_outcome
from responder.core.outcome import Outcome
from responder.core.relay import Relay, answer_elsewhere, merge, relay, to_staff
from responder.core.reply_kinds import EMAIL_LEFT, FOLLOWS_UP, STAFF_REPLY
from responder.core.settings import Settings
from responder.core.staff import new_text
from responder.core.survey_replies import (
    mail_answer,
    note_outcome,
    open_surveys,
    unknown_press,
    vote_outcome,
)
from responder.core.verdict import Verdict, judge
from responder.core.view import TicketInfo, View
from responder.core.window import Skipped, fit
from responder.domain.message import Message
from responder.domain.records import InboundRow, NewEvent, NewReply, NewTicket

# A staff command that could not be carried out, and what the group is told.
_SAID = {
    "staff-no-ticket": "no_ticket",
    "staff-empty-note": "empty_note",
    "staff-link-usage": "link_usage",
    "staff-merge-usage": "merge_usage",
}
Failed = tuple[int, Exception]  # an inbound id that could not be decided, and why


@dataclasses.dataclass
class Decided:
    """A scope's messages decided so far: outcomes, the staff relays they call for, failures."""

    outcomes: list[Outcome] = dataclasses.field(default_factory=list)
    relays: list[Relay] = dataclasses.field(default_factory=list)
    failed: list[Failed] = dataclasses.field(default_factory=list)
    mails: list[MailRelay] = dataclasses.field(default_factory=list)  # to a desk mailbox


class ReplyPlanner:
    """Decides a batch against one view; the caller records every outcome in one transaction.
    One message that cannot be decided is left out, and named, so it is tried again alone."""

    def __init__(
        self, settings: Settings, now: datetime, hours: tuple[Moment, datetime | None]
    ) -> None:
        self.settings, self.now, self.hours = settings, now, hours

    def begin(self, view: View) -> Decided:
        """A scope's deciding starts; its messages are then `add`ed one at a time, in order,
        so the caller can let sends go on between them (issue 15: a burst's first answers
        should not wait for the whole batch to be decided)."""
        # A reply to a survey that has closed is an ordinary message again.
        view.survey_posts = open_surveys(self.settings, view.survey_posts, self.now)
        return Decided()

    def add(
        self,
        decided: Decided,
        row: InboundRow,
        msg: Message | None,
        view: View,
        new_ref: Callable[[], str],
    ) -> None:
        profile = self.settings.profiles.get(row.channel)
        if profile is None or msg is None:
            gone = Suppress("unknown-channel", f"channel {row.channel!r} is gone")
            decided.outcomes.append(Outcome(row.id, row.channel, None, "", (), gone))
            return
        try:
            verdict = judge(msg, self.settings, profile, view, self.now, new_ref, self.hours)
            outcome = self._outcome(row, msg, profile, verdict, view)
            desk = self.settings.profiles.get(profile.desk) if profile.desk else None
            index = len(decided.outcomes)
            history = new_ticket_history(self.settings, desk, verdict.decision, view)
            found = relay(index, profile, desk, msg, verdict.decision, self.hours[0], history)
            mailed = mail_relay(index, profile, desk, msg, verdict.decision, self.hours[0])
        except Exception as exc:
            decided.failed.append((row.id, exc))
            return
        if found is not None:
            decided.relays.append(found)
        if mailed is not None:
            decided.mails.append(mailed)
        decided.outcomes.append(outcome)

    def finish(self, decided: Decided, view: View) -> tuple[list[Outcome], list[Failed]]:
        """The scope's outcomes, staff relays merged in, and the messages that failed."""
        outcomes = merge(decided.outcomes, decided.relays, view, self.now)
        return mail_notices(outcomes, decided.mails, self.now), decided.failed

    def _outcome(
        self, row: InboundRow, msg: Message, profile: ChannelProfile, verdict: Verdict, view: View
    ) -> Outcome:
        decision, now = verdict.decision, self.now
        customer = msg.thread.conversation
        # What recording checks again (Outcome.starts, issue 19): none open in this view.
        none_open = None if customer is None or customer in view.open_by_customer else customer
        sender = msg.sender.address or None
        base = Outcome(
            row.id, profile.name, sender, msg.subject or msg.title, msg.thread.own_ids, decision
        )
        if isinstance(decision, Suppress):
            return self._suppressed(base, msg, profile, decision)
        if isinstance(decision, Welcome):
            language = verdict.detected or msg.language
            welcome, unsent = self._render(profile, WELCOME, msg, "", language, parent=None)
            return dataclasses.replace(base, reply=welcome, unsent=unsent, returned=customer)
        if isinstance(decision, StaffReply):
            # A staff member answered: the ticket's first-response clock stops (issue 5), and
            # the text decides whether the ticket now waits on the customer (a question).
            view.joined(decision.ref, msg.thread.message_id)
            event = NewEvent("staff_reply", msg.sender.actor, new_text(msg.text), msg.at)
            reply = None
            info = view.tickets.get(decision.ref)
            home = self.settings.profiles.get(info.channel) if info else None
            # A visitor who left an address hears the answer there too (the offline form).
            by_email = self.settings.profiles.get(home.by_email or "") if home else None
            if home is not None and home.name != profile.name and msg.thread.chat is not None:
                return answer_elsewhere(
                    base, msg, profile, home, decision.ref, view, event, now, by_email
                )
            if home is not None and answers_by_mail(msg, profile, home, view, decision.ref):
                # A staff address answered a visitor's ticket from its mailbox (issue 17).
                return staff_mail_answer(
                    base, msg, profile, home, decision.ref, view, event, now, by_email
                )
            if decision.target and msg.thread.chat is not None:
                copy = Copy(msg.thread.chat, msg.thread.post)
                draft = Draft(STAFF_REPLY, decision.target, copy=copy)
                reply = profile.wire.render(draft, profile, now)
            return dataclasses.replace(base, reply=reply, events=(event,))
        if isinstance(decision, FollowUp):
            view.joined(decision.ref, msg.thread.message_id)
            if msg.reach is not None:
                # Not a question: the ticket's clocks stay as they are; staff answers from
                # now on go to the address as well (issue 17's offline form).
                view.reached(decision.ref, msg.reach)
                left = NewEvent(EMAIL_LEFT, msg.sender.actor, msg.reach, msg.at)
                links = left_links(view, profile, decision.ref, msg.reach)
                return dataclasses.replace(base, events=(left,), contacts=links)
            answer = mail_answer(self.settings, profile, view, decision.ref, msg, now)
            if answer is not None:
                # A rating, not a new question: the ticket stays as it is (issue 6).
                return dataclasses.replace(base, survey=answer)
            # The customer wrote again: a ticket waiting on them counts SLA time again.
            event = NewEvent("customer_reply", msg.sender.actor, None, msg.at)
            info = view.tickets.get(decision.ref)
            shared = phone_links(profile, info.customer, msg) if info else ()
            base = dataclasses.replace(base, contacts=shared)
            if decision.reopen:
                # Within the reopen window (issue 18): open again, as /reopen does.
                view.status(decision.ref, "open")
                back = NewEvent("reopened", msg.sender.actor, "the customer wrote", msg.at)
                events = (event, back)
                return dataclasses.replace(
                    base, returned=customer, events=events, status="open", starts=none_open
                )
            return dataclasses.replace(base, returned=customer, events=(event,))
        if isinstance(decision, StaffCommand):
            return self._command(base, msg, profile, decision, view)
        if isinstance(decision, SurveyVote):
            return vote_outcome(self.settings, profile, now, base, msg, decision, view)
        if isinstance(decision, SurveyNote):
            return note_outcome(self.settings, profile, now, base, msg, decision, view)
        opening = dataclasses.replace(base, starts=none_open)
        return self._opened(opening, msg, profile, verdict, decision, view)

    def _opened(
        self,
        base: Outcome,
        msg: Message,
        profile: ChannelProfile,
        verdict: Verdict,
        decision: Acknowledge | Record,
        view: View,
    ) -> Outcome:
        """A new ticket, the reply the rule chose, and a notice to staff if it says so."""
        rendered, now = verdict.rendered, self.now
        language = rendered.language if rendered else None
        language = language or verdict.detected or msg.language or profile.language
        reply, unsent = None, None
        if isinstance(decision, Acknowledge) and rendered is not None:
            to_name = msg.sender.name if decision.target == msg.sender.address else ""
            attach = self.settings.attachments(decision.action.attach)
            draft = Draft.of(
                decision.template,
                decision.target,
                rendered,
                to_name=to_name,
                parent=Parent.of(msg),
                attach=attach,
            )
            reply, unsent = self._fitted(draft, profile, language, msg, decision.ref)
        notices: tuple[NewReply, ...] = ()
        if decision.action.notify_staff and profile.staff:
            context = staff_context(profile, msg, decision)
            context["history"] = notice_history(self.settings, decision, view)  # issue 18
            notice = profile.wire.content(
                self.settings.templates, STAFF_NOTIFICATION, [profile.language, "en"], context
            )
            notices = tuple(
                profile.wire.render(
                    Draft.of(STAFF_NOTIFICATION, to, notice, notice=True), profile, now
                )
                for to in profile.staff
            )
        info = TicketInfo(
            decision.ref, decision.target, "open", language, msg.sender.name, profile.name
        )
        own = [*msg.thread.own_ids, reply.message_id if reply else None]
        view.opened(decision, verdict.moment, own, info=info)
        ticket = NewTicket(
            decision.ref,
            profile.name,
            decision.target,
            msg.sender.name[:200],
            msg.title,
            language,
            _utc_offset(msg.date),
        )
        closed = isinstance(decision, Acknowledge) and decision.template == OUT_OF_HOURS
        # Past the old ticket's reopen window (issue 18): the new one names it.
        follows = (NewEvent(FOLLOWS_UP, msg.sender.actor, decision.follows, msg.at),)
        return dataclasses.replace(
            base,
            events=follows if decision.follows else (),
            ticket=ticket,
            reply=reply,
            unsent=unsent,
            notices=notices,
            period=verdict.moment.period if closed else None,
            returned=msg.thread.conversation,
            contacts=opened_links(profile, decision, msg),
        )

    def _suppressed(
        self, base: Outcome, msg: Message, profile: ChannelProfile, decision: Suppress
    ) -> Outcome:
        if msg.signals.press is not None:
            return unknown_press(profile, self.now, base, msg)
        desk = profile.wire.desk
        if desk is not None and decision.rule in _SAID:
            key = _SAID[decision.rule]
            command = (msg.signals.command or "/")[1:]
            text = desk.say(profile.language, key, command=command)
            return dataclasses.replace(base, notices=(to_staff(profile, text, msg, self.now),))
        return base

    def _command(
        self,
        base: Outcome,
        msg: Message,
        profile: ChannelProfile,
        decision: StaffCommand,
        view: View,
    ) -> Outcome:
        desk = profile.wire.desk
        assert desk is not None
        language, ref, now = profile.language, decision.ref, self.now
        who = msg.sender.name or msg.sender.address or ""
        if decision.command in ("link", "history"):
            return contact_outcome(base, msg, profile, decision, view, self.settings, now)
        if decision.command == "merge":
            return merge_outcome(base, msg, profile, decision, view, now)
        status = view.tickets[ref].status
        if decision.command == "note":
            event = NewEvent("note", msg.sender.actor, decision.text)
            notice = to_staff(profile, desk.say(language, "noted", ref=ref), msg, now)
            return dataclasses.replace(base, events=(event,), notices=(notice,))
        wanted = "resolved" if decision.command == "close" else "open"
        if status == wanted:
            key = "already_closed" if wanted == "resolved" else "already_open"
            notice = to_staff(profile, desk.say(language, key, ref=ref), msg, now)
            return dataclasses.replace(base, notices=(notice,))
        view.status(ref, wanted)
        key = "closed" if wanted == "resolved" else "reopened"
        notice = to_staff(profile, desk.say(language, key, ref=ref, who=who), msg, now)
        event = NewEvent("closed" if wanted == "resolved" else "reopened", msg.sender.actor)
        return dataclasses.replace(base, events=(event,), status=wanted, notices=(notice,))

    def _render(
        self,
        profile: ChannelProfile,
        template: str,
        msg: Message,
        ref: str,
        language: str | None,
        parent: Parent | None,
    ) -> tuple[NewReply, str | None]:
        """A template's reply to the customer, in their language where it exists."""
        settings, (moment, next_open) = self.settings, self.hours
        chain = list(dict.fromkeys([language or profile.language, profile.language, "en"]))
        lang = settings.templates.languages_for(template, chain) or chain[0]
        context = render_context(profile, msg, ref, msg.title)
        context.update(
            calendar_context(settings.calendar, lang, self.now, moment, next_open), language=lang
        )
        rendered = profile.wire.content(settings.templates, template, chain, context)
        draft = Draft.of(template, msg.sender.reply_to or "", rendered, parent=parent)
        return self._fitted(draft, profile, lang, msg, ref)

    def _fitted(
        self, draft: Draft, profile: ChannelProfile, language: str, msg: Message, ref: str
    ) -> tuple[NewReply, str | None]:
        """The reply to `msg`, and why it is not sent if it is not: a message Meta delivers
        late (retried for days while we were down) can be past WhatsApp's 24-hour window
        by its own timestamp; then its template goes, or nothing (core/window.py)."""
        fitted = fit(draft, profile, language, msg.date, self.now, ref=ref)
        if isinstance(fitted, Skipped):
            return profile.wire.render(draft, profile, self.now), fitted.reason
        return profile.wire.render(fitted, profile, self.now), None


def _utc_offset(date: datetime | None) -> int | None:
    """The sender's own UTC offset (RFC 5322 section 3.3), so their survey comes at a decent
    local hour. UTC itself is not trusted: "-0000" means unknown, and webmail servers stamp
    "+0000" whatever the sender's zone."""
    offset = date.utcoffset() if date is not None else None
    if offset is None or not offset:
        return None
    return int(offset.total_seconds() // 60)
