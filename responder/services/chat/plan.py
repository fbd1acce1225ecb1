"""Turning a batch of recorded Telegram updates into outcomes: tickets, replies, staff posts."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime

from responder.core.chat.decide import (
    ChatDecision,
    ChatPolicy,
    ChatView,
    StaffCommand,
    StaffReply,
    SurveyNote,
    SurveyVote,
    TicketInfo,
    Welcome,
    decide_chat,
)
from responder.core.decide import OUT_OF_HOURS, Acknowledge, FollowUp, Moment, Record, Suppress
from responder.core.language import detect_language
from responder.core.outcome import Outcome
from responder.core.planning import calendar_context, render_context
from responder.core.reply_kinds import STAFF_NOTICE, STAFF_RELAY, STAFF_REPLY
from responder.core.settings import ChannelProfile, Settings
from responder.domain.csat import read_press
from responder.domain.records import InboundRow, NewEvent, NewReply, NewTicket
from responder.services.chat.survey import note_outcome, open_surveys, unknown_press, vote_outcome
from responder.storage.chat_view import ChatKeys
from responder.wire.telegram import staff_text
from responder.wire.telegram.post import Post, Topic, post_id
from responder.wire.telegram.text import MESSAGE_LIMIT, visible_length
from responder.wire.telegram.update import CAPTIONED, ChatMessage

# How much of a staff reply a ticket event keeps: enough to see whether it asks something.
EVENT_TEXT = 500


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

    def keys(self, msgs: Sequence[ChatMessage], candidates: Sequence[str]) -> ChatKeys:
        staff = self.profile.staff_chat
        mine = [m for m in msgs if staff is not None and m.chat_id == staff]
        args = {m.args.split(maxsplit=1)[0].lstrip("#").upper() for m in mine if m.args}
        return ChatKeys(
            channel=self.profile.name,
            staff_chat=staff,
            customers=frozenset(m.customer for m in msgs if m.chat_type == "private"),
            posts=frozenset(m.reply_to for m in mine if m.reply_to is not None),
            threads=frozenset(m.thread_id for m in mine if m.thread_id is not None),
            refs=frozenset(args | set(candidates)),
            surveys=frozenset(p[0] for m in msgs if (p := read_press(m.data))),
            replied=frozenset(
                m.reply_to for m in msgs if m.chat_type == "private" and m.reply_to is not None
            ),
        )

    def outcomes(
        self,
        rows: Sequence[InboundRow],
        msgs: Sequence[ChatMessage],
        view: ChatView,
        hours: tuple[Moment, datetime | None],
        new_ref: Callable[[], str],
    ) -> list[Outcome]:
        settings, profile = self.settings, self.profile
        policy = ChatPolicy(
            profile.name, profile.staff_chat, settings.cap.max_replies, settings.rules, settings.vip
        )
        outcomes: list[Outcome] = []
        relays: list[Relay] = []
        # A reply to a survey that has closed is an ordinary message again.
        view.survey_posts = open_surveys(settings, view.survey_posts, self.now)
        for row, msg in zip(rows, msgs, strict=True):
            hint = _hint(msg.language_code)
            detected = detect_language(msg.text) if msg.text else None
            decision = decide_chat(msg, policy, view, hours[0], detected or hint, new_ref)
            outcome = self._outcome(row, msg, decision, view, hours, detected or hint)
            relay = self._relay(len(outcomes), msg, decision, hours[0])
            if relay is not None:
                relays.append(relay)
            outcomes.append(outcome)
        return self._merge(outcomes, relays, view)

    def _outcome(
        self,
        row: InboundRow,
        msg: ChatMessage,
        decision: ChatDecision,
        view: ChatView,
        hours: tuple[Moment, datetime | None],
        language: str | None,
    ) -> Outcome:
        profile = self.profile
        base = Outcome(
            row.id, profile.name, msg.sender or None, staff_text.subject(msg), (), decision
        )
        if isinstance(decision, Suppress):
            if msg.kind == "callback_query":
                return unknown_press(profile, base, msg)
            if decision.rule in ("staff-no-ticket", "staff-empty-note"):
                key = "no_ticket" if decision.rule == "staff-no-ticket" else "empty_note"
                text = staff_text.say(profile.language, key, command=(msg.command or "/")[1:])
                return dataclasses.replace(base, notices=(self._to_staff(text, msg),))
            return base
        if isinstance(decision, Welcome):
            welcome, _ = self._customer_reply("welcome", msg, "", language, hours, reply_to=False)
            return dataclasses.replace(base, reply=welcome, returned=msg.customer)
        if isinstance(decision, FollowUp):
            # The customer wrote again: a ticket waiting on them counts SLA time again.
            event = NewEvent("customer_reply", _actor(msg))
            return dataclasses.replace(base, returned=msg.customer, events=(event,))
        if isinstance(decision, StaffReply):
            copy = Post(
                chat_id=int(decision.target),
                copy_from=msg.chat_id,
                copy_message=msg.message_id,
            )
            # The text decides whether the ticket now waits on the customer (a question).
            event = NewEvent("staff_reply", _actor(msg), msg.text[:EVENT_TEXT] or None)
            return dataclasses.replace(
                base, reply=self._new_reply(STAFF_REPLY, copy), events=(event,)
            )
        if isinstance(decision, StaffCommand):
            return self._command(base, msg, decision, view)
        if isinstance(decision, SurveyVote):
            return vote_outcome(self.settings, profile, self.now, base, msg, decision, view)
        if isinstance(decision, SurveyNote):
            return note_outcome(self.settings, profile, base, msg, decision, view)
        language = language or profile.language
        info = TicketInfo(decision.ref, decision.target, "open", language, msg.name)
        reply: NewReply | None = None
        if isinstance(decision, Acknowledge):
            reply, used = self._customer_reply(
                decision.template, msg, decision.ref, language, hours, True
            )
            info = dataclasses.replace(info, language=used)
        view.opened(decision, info, hours[0])
        ticket = NewTicket(
            decision.ref, profile.name, decision.target, msg.name[:200], base.subject, info.language
        )
        closed = isinstance(decision, Acknowledge) and decision.template == OUT_OF_HOURS
        return dataclasses.replace(
            base,
            ticket=ticket,
            reply=reply,
            period=hours[0].period if closed else None,
            returned=msg.customer,
        )

    def _command(
        self, base: Outcome, msg: ChatMessage, decision: StaffCommand, view: ChatView
    ) -> Outcome:
        language, ref, who = self.profile.language, decision.ref, msg.name or msg.sender
        status = view.tickets[ref].status
        if decision.command == "note":
            event = NewEvent("note", _actor(msg), decision.text)
            notice = self._to_staff(staff_text.say(language, "noted", ref=ref), msg)
            return dataclasses.replace(base, events=(event,), notices=(notice,))
        wanted = "resolved" if decision.command == "close" else "open"
        if status == wanted:
            key = "already_closed" if wanted == "resolved" else "already_open"
            notice = self._to_staff(staff_text.say(language, key, ref=ref), msg)
            return dataclasses.replace(base, notices=(notice,))
        view.status(ref, wanted)
        key = "closed" if wanted == "resolved" else "reopened"
        notice = self._to_staff(staff_text.say(language, key, ref=ref, who=who), msg)
        event = NewEvent("closed" if wanted == "resolved" else "reopened", _actor(msg))
        return dataclasses.replace(base, events=(event,), status=wanted, notices=(notice,))

    def _customer_reply(
        self,
        template: str,
        msg: ChatMessage,
        ref: str,
        language: str | None,
        hours: tuple[Moment, datetime | None],
        reply_to: bool,
    ) -> tuple[NewReply, str]:
        """The rendered reply, and the language it is in."""
        settings, profile = self.settings, self.profile
        chain = list(dict.fromkeys([language or profile.language, profile.language, "en"]))
        lang = settings.templates.languages_for(template, chain) or chain[0]
        context = render_context(profile, None, ref, staff_text.subject(msg))
        context["customer"] = {"name": msg.name, "address": msg.sender}
        context["message"]["excerpt"] = msg.text[:300]
        context.update(
            calendar_context(settings.calendar, lang, self.now, hours[0], hours[1]), language=lang
        )
        rendered = settings.templates.render_chat(template, chain, context)
        post = Post(
            chat_id=int(msg.customer),
            text=rendered.html,
            reply_to=msg.message_id if reply_to else None,
        )
        return self._new_reply(template, post), rendered.language

    def _relay(
        self, index: int, msg: ChatMessage, decision: ChatDecision, moment: Moment
    ) -> Relay | None:
        if self.profile.staff_chat is None:
            return None
        if not isinstance(decision, Acknowledge | Record | FollowUp):
            return None
        words = staff_text.words(self.profile.language)
        marks = []
        if not isinstance(decision, FollowUp):
            marks.append(words["new"])
            if decision.action.notify_staff:
                marks.append(f"{words['flagged']} {decision.rule}")
        if not moment.is_open:
            marks.append(words["closed_hours"])
        head = staff_text.header(decision.ref, msg, marks)
        copy = msg.media in CAPTIONED
        body = staff_text.caption(head, msg) if copy else staff_text.body(msg)
        return Relay(index, decision.ref, head, body, copy, (msg.chat_id, msg.message_id))

    def _merge(self, outcomes: list[Outcome], relays: list[Relay], view: ChatView) -> list[Outcome]:
        """One staff post per ticket per batch where it fits: a customer who sends twenty
        lines in a row makes one post, not twenty (a group takes 20 posts a minute)."""
        groups: list[list[Relay]] = []
        open_group: dict[str, list[Relay]] = {}
        for relay in relays:
            group = open_group.get(relay.ref)
            if relay.copy or group is None or not _fits(group, relay):
                group = [relay]
                groups.append(group)
                open_group[relay.ref] = group
                if relay.copy:
                    del open_group[relay.ref]
            else:
                group.append(relay)
        for group in groups:
            last = group[-1]
            post = self._relay_post(group, view)
            notice = self._new_reply(STAFF_RELAY, post)
            outcome = outcomes[last.index]
            outcomes[last.index] = dataclasses.replace(outcome, notices=(*outcome.notices, notice))
        return outcomes

    def _relay_post(self, group: list[Relay], view: ChatView) -> Post:
        first = group[0]
        staff = self.profile.staff_chat
        assert staff is not None
        name = view.tickets[first.ref].name if first.ref in view.tickets else ""
        topic = Topic(
            first.ref, f"#{first.ref} {name}".strip()[:128], view.topic_by_ref.get(first.ref)
        )
        if first.copy:
            chat, message = first.source
            return Post(
                chat_id=staff, copy_from=chat, copy_message=message, caption=first.body, topic=topic
            )
        text = first.head + "\n" + "\n\n".join(r.body for r in group if r.body)
        return Post(chat_id=staff, text=text, topic=topic)

    def _to_staff(self, text: str, msg: ChatMessage) -> NewReply:
        staff = self.profile.staff_chat
        assert staff is not None
        post = Post(chat_id=staff, text=text, reply_to=msg.message_id)
        if msg.thread_id is not None:
            post = dataclasses.replace(post, topic=Topic("", "", msg.thread_id))
        return self._new_reply(STAFF_NOTICE, post)

    def _new_reply(self, kind: str, post: Post) -> NewReply:
        return NewReply(kind, str(post.chat_id), "", post_id(self.profile.name), post.to_bytes())


def _fits(group: list[Relay], relay: Relay) -> bool:
    size = sum(visible_length(r.body) + 2 for r in group) + visible_length(group[0].head)
    return size + visible_length(relay.body) + 2 <= MESSAGE_LIMIT


def _hint(code: str | None) -> str | None:
    """Telegram's language_code (the app's language, "id", "en-US") as a hint only."""
    base = (code or "").split("-", 1)[0].lower()
    return base if base in ("id", "en") else None


def _actor(msg: ChatMessage) -> str:
    return (f"{msg.name} (tg:{msg.user_id})" if msg.user_id else msg.name)[:200]
