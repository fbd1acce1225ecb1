"""Deciding for chat messages, pure: customer messages open or join tickets, staff answer."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from responder.config.rules import RulesConfig
from responder.core import tickets
from responder.core.csat.answer import read_answer
from responder.core.decide import (
    OPEN,
    OUT_OF_HOURS,
    Acknowledge,
    Decision,
    FollowUp,
    Moment,
    Record,
    Suppress,
    answer,
    fresh_ref,
)
from responder.core.rules import Facts, evaluate, is_vip
from responder.domain.csat import PREFIX, SurveyInfo, read_press
from responder.wire.telegram.update import ChatMessage

WELCOME = "welcome"
STAFF_COMMANDS = {"/close": "close", "/reopen": "reopen", "/note": "note"}
# Updates that are not a customer writing to us (Bot API "Update" fields).
_NOT_ANSWERED = {
    "edited_message": ("edited", "an edit of an earlier message"),
    "edited_channel_post": ("channel-post", "a channel post"),
    "channel_post": ("channel-post", "a channel post"),
    "callback_query": ("button", "a button press"),
    "invalid": ("invalid-update", "not a readable Telegram update"),
}


@dataclass(frozen=True)
class Welcome:
    """/start: greet, open nothing; the customer's first question opens the ticket."""

    target: str


@dataclass(frozen=True)
class StaffReply:
    """A staff member answered a ticket in the staff group: copy it to the customer."""

    ref: str
    target: str


@dataclass(frozen=True)
class StaffCommand:
    ref: str
    command: str  # close, reopen, note
    text: str = ""


@dataclass(frozen=True)
class SurveyVote:
    """A customer pressed a survey button (issue 6): record it, confirm it in place."""

    ref: str
    survey_id: int
    field: str  # "r": the 1-5 rating; "n": the 0-10 recommendation
    value: int


@dataclass(frozen=True)
class SurveyNote:
    """A customer replied to their survey's message: a rating in words, or a comment."""

    ref: str
    survey_id: int


ChatDecision = Decision | Welcome | StaffReply | StaffCommand | SurveyVote | SurveyNote


@dataclass(frozen=True)
class TicketInfo:
    ref: str
    customer: str
    status: str
    language: str
    name: str


@dataclass
class ChatView:
    """What the database knew when a batch was loaded, kept current as it is decided."""

    open_by_customer: dict[str, str] = field(default_factory=dict)
    ref_by_post: dict[int, str] = field(default_factory=dict)  # staff-group message -> ticket
    ref_by_topic: dict[int, str] = field(default_factory=dict)
    topic_by_ref: dict[str, int] = field(default_factory=dict)
    tickets: dict[str, TicketInfo] = field(default_factory=dict)
    existing_refs: set[str] = field(default_factory=set)
    recent_replies: dict[str, int] = field(default_factory=dict)
    closed_replies: set[tuple[str, str]] = field(default_factory=set)  # (customer, period)
    surveys: dict[int, SurveyInfo] = field(default_factory=dict)  # the ones buttons name
    survey_posts: dict[int, SurveyInfo] = field(default_factory=dict)  # open, by message id

    def opened(self, decision: Acknowledge | Record, info: TicketInfo, moment: Moment) -> None:
        self.existing_refs.add(decision.ref)
        self.open_by_customer[decision.target] = decision.ref
        self.tickets[decision.ref] = info
        if isinstance(decision, Acknowledge):
            self.recent_replies[decision.target] = self.recent_replies.get(decision.target, 0) + 1
            if decision.template == OUT_OF_HOURS and moment.period:
                self.closed_replies.add((decision.target, moment.period))

    def status(self, ref: str, status: str) -> None:
        info = self.tickets[ref]
        self.tickets[ref] = TicketInfo(ref, info.customer, status, info.language, info.name)
        if status == "open":
            self.open_by_customer[info.customer] = ref
        elif self.open_by_customer.get(info.customer) == ref:
            del self.open_by_customer[info.customer]


@dataclass(frozen=True)
class ChatPolicy:
    channel: str
    staff_chat: int | None
    max_replies: int
    rules: RulesConfig
    vip: tuple[str, ...] = ()


def decide_chat(
    msg: ChatMessage,
    policy: ChatPolicy,
    view: ChatView,
    moment: Moment = OPEN,
    language: str | None = None,
    new_ref: Callable[[], str] = tickets.new_ref,
) -> ChatDecision:
    if msg.kind == "callback_query" and msg.data.startswith(PREFIX):
        return _vote(msg, view)
    if msg.kind != "message":
        rule, reason = _NOT_ANSWERED.get(msg.kind, ("other-update", f"a {msg.kind} update"))
        return Suppress(rule, reason)
    if policy.staff_chat is not None and msg.chat_id == policy.staff_chat:
        return _staff(msg, view)
    if msg.chat_type != "private":
        return Suppress("not-private", f"a message in a {msg.chat_type or 'unknown'} chat")
    if msg.is_bot:
        return Suppress("bot", "sent by a bot")
    if msg.is_service:
        return Suppress("service-message", "a service message, nobody wrote anything")
    target = msg.customer
    if msg.command == "/start":
        return Welcome(target)
    survey = view.survey_posts.get(msg.reply_to) if msg.reply_to is not None else None
    # A reply to the survey message rates it in words, or comments on the rating given; a
    # reply that does neither (a new question) is an ordinary message.
    if _about_survey(msg, survey):
        assert survey is not None
        return SurveyNote(survey.ref, survey.id)
    ref = view.open_by_customer.get(target)
    if ref is not None:
        return FollowUp(ref)
    facts = Facts(
        channel=policy.channel,
        sender=msg.sender,
        subject="",
        body=msg.text,
        language=language,
        is_open=moment.is_open,
        holiday=moment.holiday,
        is_vip=is_vip(policy.vip, msg.sender),
    )
    match = evaluate(policy.rules, facts)
    ref = fresh_ref(new_ref, view.existing_refs)
    # A person wrote, so the ticket always opens; only the automatic reply may be held back.
    recent = view.recent_replies.get(target, 0)
    held = None
    if recent >= policy.max_replies:
        held = f"{recent} automatic replies to this customer in the window"
    return answer(match, target, ref, moment, view.closed_replies, held)


def _about_survey(msg: ChatMessage, survey: SurveyInfo | None) -> bool:
    if survey is None or survey.recipient != msg.customer or msg.command is not None:
        return False
    return survey.rating is not None or read_answer(msg.text) is not None


def _vote(msg: ChatMessage, view: ChatView) -> ChatDecision:
    """Only the customer the survey went to, pressing a button on the survey message itself."""
    press = read_press(msg.data)
    info = view.surveys.get(press[0]) if press else None
    if press is None or info is None:
        return Suppress("button", "a button press on no survey responder knows")
    if info.recipient != msg.customer or (info.post is not None and info.post != msg.message_id):
        return Suppress("button", "a survey button pressed outside the survey's own message")
    if press[1] == "n" and info.rating is None:
        return Suppress("button", "a recommendation before a rating: not a button we sent")
    return SurveyVote(info.ref, info.id, press[1], press[2])


def _staff(msg: ChatMessage, view: ChatView) -> ChatDecision:
    # The channel asked Telegram; an anonymous administrator (sent as the group, by
    # GroupAnonymousBot) is staff, any other bot is not.
    if not msg.is_staff:
        if msg.is_bot:
            return Suppress("bot", "sent by a bot in the staff group")
        return Suppress("not-staff", "only members of the staff group may answer or use commands")
    ref = _ticket_of(msg, view)
    command = STAFF_COMMANDS.get(msg.command or "")
    if command is not None:
        named = msg.args.split(maxsplit=1)
        if named and command != "note":
            wanted = named[0].lstrip("#").upper()
            if wanted not in view.tickets:
                # A typo must not close the ticket being replied to instead.
                return Suppress("staff-no-ticket", f"/{command} names no known ticket")
            ref = wanted
        if ref is None:
            return Suppress("staff-no-ticket", f"/{command} outside a ticket's thread")
        if command == "note" and not msg.args:
            return Suppress("staff-empty-note", "/note without text")
        return StaffCommand(ref, command, msg.args if command == "note" else "")
    if msg.command is not None:
        return Suppress("staff-command", f"{msg.command} is not a command responder knows")
    if ref is None:
        return Suppress("staff-chatter", "not an answer to a customer's message")
    if msg.is_service:
        return Suppress("service-message", "a service message, nobody wrote anything")
    return StaffReply(ref, view.tickets[ref].customer)


def _ticket_of(msg: ChatMessage, view: ChatView) -> str | None:
    """A reply to a relayed post names its ticket; in a forum, so does the topic."""
    if msg.reply_to is not None and msg.reply_to in view.ref_by_post:
        return view.ref_by_post[msg.reply_to]
    if msg.thread_id is not None:
        return view.ref_by_topic.get(msg.thread_id)
    return None
