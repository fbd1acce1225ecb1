"""Deciding, pure: what to do with one message from any channel, given what is known."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from responder.config.rules import RulesConfig
from responder.core import guards, tickets
from responder.core.closing import follows_up, reopens
from responder.core.csat.answer import read_answer
from responder.core.decisions import (
    ACKNOWLEDGEMENT,
    AUTO,
    NONE,
    OPEN,
    OUT_OF_HOURS,
    Acknowledge,
    Decision,
    FollowUp,
    Moment,
    Record,
    StaffReply,
    Suppress,
    SurveyNote,
    SurveyVote,
    Welcome,
)
from responder.core.forget import is_forgotten
from responder.core.rules import Facts, Match, evaluate, is_vip
from responder.core.staff import answered_by_staff, in_staff_group
from responder.core.view import View
from responder.domain.closing import ClosePolicy
from responder.domain.csat import PREFIX, SurveyInfo, read_press
from responder.domain.message import Message

# RFC 5321 section 4.5.3.1.3: a path is at most 256 octets, brackets included.
MAX_ADDRESS = 254


@dataclass(frozen=True)
class Policy:
    """What deciding needs of the channel and the config."""

    channel: str
    guard: guards.GuardContext
    max_replies: int
    rules: RulesConfig
    vip: tuple[str, ...] = ()
    staff: tuple[str, ...] = ()  # staff addresses: their own mail answers, never a customer's
    staff_chat: int | None = None  # the staff group, where staff answer and give commands
    closing: ClosePolicy | None = None  # the reopen window (issue 18); None: as before


def decide(
    msg: Message,
    policy: Policy,
    view: View,
    moment: Moment = OPEN,
    language: str | None = None,
    new_ref: Callable[[], str] = tickets.new_ref,
    now: datetime | None = None,
) -> Decision:
    """Staff answer, machines are suppressed, a message in a known conversation joins its
    ticket; anything else opens a ticket, and the first rule that matches says how (or
    whether) to reply."""
    signals = msg.signals
    if signals.press is not None and signals.press.data.startswith(PREFIX):
        return _vote(msg, view)
    if signals.ignored is not None:
        return Suppress(*signals.ignored)
    if policy.staff_chat is not None and msg.thread.chat == policy.staff_chat:
        return in_staff_group(msg, view)
    staff_ref = answered_by_staff(msg, policy.staff, policy.guard, view)
    if staff_ref is not None:
        return StaffReply(staff_ref, "")
    if (msg.sender.address or "").lower() in policy.staff:
        # Staff mail that answers no ticket (a new message they Cc'd us on, or sent from the
        # shared mailbox) is theirs to handle: acknowledging it would answer our own team.
        return Suppress("staff-sender", "from a staff address, in no ticket's thread")
    verdict = guards.check_message(msg, policy.guard)
    if verdict is not None:
        return Suppress(verdict.rule, verdict.reason)
    target = msg.sender.reply_to
    if signals.command == "/start" and target is not None:
        return Welcome(target)
    reply_to = msg.thread.reply_to
    survey = view.survey_posts.get(reply_to) if reply_to is not None else None
    # A reply to the survey message rates it in words, or comments on the rating given; a
    # reply that does neither (a new question) is an ordinary message.
    if survey is not None and _about_survey(msg, survey):
        return SurveyNote(survey.ref, survey.id)
    ref = _known_ticket(msg, view)
    follows = ""
    if ref is not None:
        resolved_at = _resolved_at(view, ref)
        if (
            now is None
            or not follows_up(policy.closing, resolved_at, now)
            or _rates(msg, view, ref)
        ):
            # An address left (the web chat's offline form) asks nothing: it reopens nothing.
            reopen = now is not None and reopens(policy.closing, resolved_at, now)
            return FollowUp(ref, reopen and msg.reach is None)
        if (newer := view.followed_by.get(ref)) is not None:
            return FollowUp(newer)  # the new ticket a late message opened already
        follows = ref  # too long after it was resolved: a new ticket, that names the old
    elif now is not None and (last := _last_resolved(msg, view)) is not None:
        resolved_at = _resolved_at(view, last)
        if reopens(policy.closing, resolved_at, now):
            return FollowUp(last, reopen=msg.reach is None)
        if follows_up(policy.closing, resolved_at, now):
            follows = last
    if msg.reach is not None:
        # An address left with no conversation open (closed since, or a forged call): there
        # is nothing to answer there, and opening a ticket would answer an empty message.
        return Suppress("no-conversation", "an email address left with no open conversation")
    if target is None or len(target) > MAX_ADDRESS:
        return Suppress("no-reply-address", "no usable address to reply to")
    recent = view.recent_replies.get(target, 0)
    held = None
    if recent >= policy.max_replies:
        if not signals.person:
            return Suppress("reply-cap", f"{recent} automatic replies to {target} in the window")
        # A person wrote, so the ticket always opens; only the automatic reply is held back.
        held = f"{recent} automatic replies to this customer in the window"
    facts = Facts(
        channel=policy.channel,
        sender=msg.sender.address,
        subject=msg.subject,
        body=msg.text,
        language=language,
        is_open=moment.is_open,
        holiday=moment.holiday,
        is_vip=is_vip(policy.vip, msg.sender.address),
    )
    match = evaluate(policy.rules, facts)
    ref = fresh_ref(new_ref, view.existing_refs)
    opened = answer(match, target, ref, moment, view.closed_replies, held)
    return dataclasses.replace(opened, follows=follows) if follows else opened


def _resolved_at(view: View, ref: str) -> datetime | None:
    """When the ticket was resolved, if it is now."""
    info = view.tickets.get(ref)
    return info.resolved_at if info is not None and info.status == "resolved" else None


def _last_resolved(msg: Message, view: View) -> str | None:
    """A chat customer with no open ticket: their last resolved one."""
    conversation = msg.thread.conversation
    return view.resolved_by_customer.get(conversation) if conversation is not None else None


def _rates(msg: Message, view: View, ref: str) -> bool:
    """A reply that rates the ticket's survey joins the ticket however late it comes."""
    return ref in view.surveys_by_ref and read_answer(msg.text) is not None


def _known_ticket(msg: Message, view: View) -> str | None:
    """The ticket a message continues: named by the ids it answers or a reference it
    carries (mail), or the customer's open one (a chat)."""
    for message_id in msg.thread.parents:
        if message_id in view.ref_by_message_id:
            return view.ref_by_message_id[message_id]
    for ref in msg.thread.refs:
        # A forgotten customer's ticket (issue 18) is nobody's to continue: they are new.
        if ref in view.existing_refs and not _forgotten(view, ref):
            return view.current(ref)  # "[#DUP]" of a merged duplicate: its ticket now
    if msg.thread.conversation is not None:
        return view.open_by_customer.get(msg.thread.conversation)
    return None


def _forgotten(view: View, ref: str) -> bool:
    info = view.tickets.get(ref)
    return info is not None and is_forgotten(info.customer)


def fresh_ref(new_ref: Callable[[], str], existing: set[str]) -> str:
    ref = new_ref()
    while ref in existing:
        ref = new_ref()
    return ref


def answer(
    match: Match,
    target: str,
    ref: str,
    moment: Moment,
    closed_replies: set[tuple[str, str]],
    held: str | None = None,
) -> Acknowledge | Record:
    """How a new ticket is answered: by the matching rule's template (`auto`: by the
    calendar). It is only recorded when the rule says none, when `held` gives a reason to
    hold the reply back, or when the sender already heard we are closed in this period."""
    action = match.action
    template = action.template
    if template == NONE:
        return Record(target, ref, match.rule, action, "the rule records without a reply")
    if held is not None:
        return Record(target, ref, match.rule, action, held)
    if template == AUTO:
        template = ACKNOWLEDGEMENT if moment.is_open else OUT_OF_HOURS
    if template == OUT_OF_HOURS and (target, moment.period or "") in closed_replies:
        why = "already told this sender we are closed until we open again"
        return Record(target, ref, match.rule, action, why)
    return Acknowledge(target, ref, template, match.rule, action)


def _about_survey(msg: Message, survey: SurveyInfo) -> bool:
    if survey.recipient != msg.sender.reply_to or msg.signals.command is not None:
        return False
    return survey.rating is not None or read_answer(msg.text) is not None


def _vote(msg: Message, view: View) -> Decision:
    """Only the customer the survey went to, pressing a button on the survey message itself."""
    assert msg.signals.press is not None
    press = read_press(msg.signals.press.data)
    info = view.surveys.get(press[0]) if press else None
    if press is None or info is None:
        return Suppress("button", "a button press on no survey responder knows")
    if info.recipient != msg.sender.reply_to or (
        info.post is not None and info.post != msg.thread.post
    ):
        return Suppress("button", "a survey button pressed outside the survey's own message")
    if press[1] == "n" and info.rating is None:
        return Suppress("button", "a recommendation before a rating: not a button we sent")
    return SurveyVote(info.ref, info.id, press[1], press[2])
