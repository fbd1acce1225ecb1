"""Turning a batch of recorded Telegram updates into outcomes: tickets, replies, staff posts."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime

from responder.core.channel import ChannelProfile, Copy, Desk, Draft, Parent, Topic
from responder.core.decide import decide
from responder.core.decisions import (
    OUT_OF_HOURS,
    Acknowledge,
    Decision,
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
from responder.core.planning import calendar_context, detect, policy_for, render_context
from responder.core.settings import Settings
from responder.core.staff import new_text
from responder.core.view import TicketInfo, View, ViewKeys
from responder.domain.message import Message
from responder.domain.records import InboundRow, NewEvent, NewReply, NewTicket
from responder.services.chat.survey import note_outcome, open_surveys, unknown_press, vote_outcome
from responder.storage.chat_view import ChatKeys
from responder.storage.decisions import Outcome
from responder.storage.views import STAFF_NOTICE, STAFF_RELAY, STAFF_REPLY


@dataclass(frozen=True)
class Relay:
    """A customer message to post in the staff group, before posts are merged."""

    index: int  # the outcome it belongs to
    ref: str
    head: str
    body: str
    copy: bool  # a photo or document: copied with a caption instead of quoted
    source: tuple[int | None, int | None] = (None, None)  # (chat, message) to copy


class ChatPlanner:
    """Decides one channel's batch; the caller records every outcome in one transaction."""

    def __init__(self, settings: Settings, profile: ChannelProfile, now: datetime) -> None:
        self.settings, self.profile, self.now = settings, profile, now
        assert profile.wire.desk is not None
        self.desk: Desk = profile.wire.desk

    @staticmethod
    def keys(keys: ViewKeys) -> ChatKeys:
        assert keys.channel is not None
        return ChatKeys(
            channel=keys.channel,
            staff_chat=keys.staff_chat,
            customers=keys.customers,
            posts=keys.posts,
            threads=keys.threads,
            refs=keys.refs,
            surveys=keys.surveys,
            replied=keys.replied,
        )

    def outcomes(
        self,
        rows: Sequence[InboundRow],
        msgs: Sequence[Message],
        view: View,
        hours: tuple[Moment, datetime | None],
        new_ref: Callable[[], str],
    ) -> list[Outcome]:
        settings, profile = self.settings, self.profile
        policy = policy_for(settings, profile)
        outcomes: list[Outcome] = []
        relays: list[Relay] = []
        # A reply to a survey that has closed is an ordinary message again.
        view.survey_posts = open_surveys(settings, view.survey_posts, self.now)
        for row, msg in zip(rows, msgs, strict=True):
            language = detect(msg) or msg.language
            decision = decide(msg, policy, view, hours[0], language, new_ref)
            outcome = self._outcome(row, msg, decision, view, hours, language)
            relay = self._relay(len(outcomes), msg, decision, hours[0])
            if relay is not None:
                relays.append(relay)
            outcomes.append(outcome)
        return self._merge(outcomes, relays, view)

    def _outcome(
        self,
        row: InboundRow,
        msg: Message,
        decision: Decision,
        view: View,
        hours: tuple[Moment, datetime | None],
        language: str | None,
    ) -> Outcome:
        profile = self.profile
        customer = msg.thread.conversation
        base = Outcome(row.id, profile.name, msg.sender.address or None, msg.title, (), decision)
        if isinstance(decision, Suppress):
            if msg.signals.press is not None:
                return unknown_press(profile, self.now, base, msg)
            if decision.rule in ("staff-no-ticket", "staff-empty-note"):
                key = "no_ticket" if decision.rule == "staff-no-ticket" else "empty_note"
                command = (msg.signals.command or "/")[1:]
                text = self.desk.say(profile.language, key, command=command)
                return dataclasses.replace(base, notices=(self._to_staff(text, msg),))
            return base
        if isinstance(decision, Welcome):
            welcome, _ = self._customer_reply("welcome", msg, "", language, hours, reply_to=False)
            return dataclasses.replace(base, reply=welcome, returned=customer)
        if isinstance(decision, FollowUp):
            # The customer wrote again: a ticket waiting on them counts SLA time again.
            event = NewEvent("customer_reply", msg.sender.actor, None, msg.at)
            return dataclasses.replace(base, returned=customer, events=(event,))
        if isinstance(decision, StaffReply):
            assert msg.thread.chat is not None
            copy = Draft(STAFF_REPLY, decision.target, copy=Copy(msg.thread.chat, msg.thread.post))
            # The text decides whether the ticket now waits on the customer (a question).
            event = NewEvent("staff_reply", msg.sender.actor, new_text(msg.text), msg.at)
            return dataclasses.replace(base, reply=self._render(copy), events=(event,))
        if isinstance(decision, StaffCommand):
            return self._command(base, msg, decision, view)
        if isinstance(decision, SurveyVote):
            return vote_outcome(self.settings, profile, self.now, base, msg, decision, view)
        if isinstance(decision, SurveyNote):
            return note_outcome(self.settings, profile, self.now, base, msg, decision, view)
        # A rule's language, else the customer's, else the channel's.
        language = decision.action.language or language or profile.language
        info = TicketInfo(decision.ref, decision.target, "open", language, msg.sender.name)
        reply: NewReply | None = None
        if isinstance(decision, Acknowledge):
            reply, used = self._customer_reply(
                decision.template, msg, decision.ref, language, hours, True
            )
            info = dataclasses.replace(info, language=used)
        view.opened(decision, hours[0], info=info)
        ticket = NewTicket(
            decision.ref,
            profile.name,
            decision.target,
            msg.sender.name[:200],
            msg.title,
            info.language,
        )
        closed = isinstance(decision, Acknowledge) and decision.template == OUT_OF_HOURS
        return dataclasses.replace(
            base,
            ticket=ticket,
            reply=reply,
            period=hours[0].period if closed else None,
            returned=customer,
        )

    def _command(self, base: Outcome, msg: Message, decision: StaffCommand, view: View) -> Outcome:
        language, ref = self.profile.language, decision.ref
        who = msg.sender.name or msg.sender.address or ""
        status = view.tickets[ref].status
        if decision.command == "note":
            event = NewEvent("note", msg.sender.actor, decision.text)
            notice = self._to_staff(self.desk.say(language, "noted", ref=ref), msg)
            return dataclasses.replace(base, events=(event,), notices=(notice,))
        wanted = "resolved" if decision.command == "close" else "open"
        if status == wanted:
            key = "already_closed" if wanted == "resolved" else "already_open"
            notice = self._to_staff(self.desk.say(language, key, ref=ref), msg)
            return dataclasses.replace(base, notices=(notice,))
        view.status(ref, wanted)
        key = "closed" if wanted == "resolved" else "reopened"
        notice = self._to_staff(self.desk.say(language, key, ref=ref, who=who), msg)
        event = NewEvent("closed" if wanted == "resolved" else "reopened", msg.sender.actor)
        return dataclasses.replace(base, events=(event,), status=wanted, notices=(notice,))

    def _customer_reply(
        self,
        template: str,
        msg: Message,
        ref: str,
        language: str | None,
        hours: tuple[Moment, datetime | None],
        reply_to: bool,
    ) -> tuple[NewReply, str]:
        """The rendered reply, and the language it is in."""
        settings, profile = self.settings, self.profile
        chain = list(dict.fromkeys([language or profile.language, profile.language, "en"]))
        lang = settings.templates.languages_for(template, chain) or chain[0]
        context = render_context(profile, msg, ref, msg.title)
        context.update(
            calendar_context(settings.calendar, lang, self.now, hours[0], hours[1]), language=lang
        )
        rendered = profile.wire.content(settings.templates, template, chain, context)
        parent = Parent.of(msg) if reply_to else None
        draft = Draft.of(template, msg.sender.reply_to or "", rendered, parent=parent)
        return self._render(draft), rendered.language

    def _relay(self, index: int, msg: Message, decision: Decision, moment: Moment) -> Relay | None:
        if self.profile.staff_chat is None:
            return None
        if not isinstance(decision, Acknowledge | Record | FollowUp):
            return None
        desk, language = self.desk, self.profile.language
        marks = []
        if not isinstance(decision, FollowUp):
            marks.append(desk.word(language, "new"))
            if decision.action.notify_staff:
                marks.append(f"{desk.word(language, 'flagged')} {decision.rule}")
        if not moment.is_open:
            marks.append(desk.word(language, "closed_hours"))
        head = desk.head(decision.ref, msg, marks)
        copy = desk.copied(msg)
        body = desk.caption(head, msg) if copy else desk.body(msg)
        return Relay(index, decision.ref, head, body, copy, (msg.thread.chat, msg.thread.post))

    def _merge(self, outcomes: list[Outcome], relays: list[Relay], view: View) -> list[Outcome]:
        """One staff post per ticket per batch where it fits: a customer who sends twenty
        lines in a row makes one post, not twenty (a group takes 20 posts a minute)."""
        groups: list[list[Relay]] = []
        open_group: dict[str, list[Relay]] = {}
        for relay in relays:
            group = open_group.get(relay.ref)
            if relay.copy or group is None or not _fits(self.desk, group, relay):
                group = [relay]
                groups.append(group)
                open_group[relay.ref] = group
                if relay.copy:
                    del open_group[relay.ref]
            else:
                group.append(relay)
        for group in groups:
            last = group[-1]
            notice = self._render(self._relay_post(group, view))
            outcome = outcomes[last.index]
            outcomes[last.index] = dataclasses.replace(outcome, notices=(*outcome.notices, notice))
        return outcomes

    def _relay_post(self, group: list[Relay], view: View) -> Draft:
        first = group[0]
        staff = self.profile.staff_chat
        assert staff is not None
        name = view.tickets[first.ref].name if first.ref in view.tickets else ""
        topic = Topic(
            first.ref, f"#{first.ref} {name}".strip()[:128], view.topic_by_ref.get(first.ref)
        )
        if first.copy:
            chat, message = first.source
            assert chat is not None
            copy = Copy(chat, message, caption=first.body)
            return Draft(STAFF_RELAY, str(staff), copy=copy, notice=True, topic=topic)
        text = first.head + "\n" + "\n\n".join(r.body for r in group if r.body)
        return Draft(STAFF_RELAY, str(staff), markup=text, notice=True, topic=topic)

    def _to_staff(self, text: str, msg: Message) -> NewReply:
        staff = self.profile.staff_chat
        assert staff is not None
        topic = Topic("", "", msg.thread.topic) if msg.thread.topic is not None else None
        draft = Draft(
            STAFF_NOTICE,
            str(staff),
            markup=text,
            parent=Parent(post=msg.thread.post),
            notice=True,
            topic=topic,
        )
        return self._render(draft)

    def _render(self, draft: Draft) -> NewReply:
        return self.profile.wire.render(draft, self.profile, self.now)


def _fits(desk: Desk, group: list[Relay], relay: Relay) -> bool:
    size = sum(desk.measure(r.body) + 2 for r in group) + desk.measure(group[0].head)
    return size + desk.measure(relay.body) + 2 <= desk.limit
