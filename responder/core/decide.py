"""Deciding, pure: what to do with one parsed message, given what the database already knows."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

from responder.config.rules import Action, RulesConfig
from responder.core import guards, tickets
from responder.core.rules import Facts, Match, evaluate, is_vip
from responder.domain.csat import SurveyInfo
from responder.wire.email.parse import ParsedMail

# RFC 5321 section 4.5.3.1.3: a path is at most 256 octets, brackets included.
MAX_ADDRESS = 254
# The longest Message-ID the database keeps for threading; longer ones (RFC 5322 allows 998
# octets on a line) only lose threading, never the message.
MAX_MESSAGE_ID = 400

ACKNOWLEDGEMENT = "acknowledgement"
OUT_OF_HOURS = "out_of_hours"
STAFF_NOTIFICATION = "staff_notification"
AUTO = "auto"
NONE = "none"


@dataclass(frozen=True)
class Suppress:
    rule: str
    reason: str


@dataclass(frozen=True)
class FollowUp:
    ref: str


@dataclass(frozen=True)
class Acknowledge:
    """Open a ticket and reply with `template`: the acknowledgement, the out-of-hours reply
    or a canned answer."""

    target: str
    ref: str
    template: str
    rule: str
    action: Action


@dataclass(frozen=True)
class Record:
    """Open a ticket and send nothing (a rule said so, or the sender already heard we are
    closed in this closed period)."""

    target: str
    ref: str
    rule: str
    action: Action
    reason: str


Decision = Suppress | FollowUp | Acknowledge | Record


@dataclass(frozen=True)
class Moment:
    """The business calendar at the moment of deciding."""

    is_open: bool
    holiday: str | None = None
    period: str | None = None  # which closed period this is; None while open


OPEN = Moment(is_open=True)


@dataclass
class View:
    """What the database knew when a batch was loaded, kept current as the batch is decided,
    so a follow-up in the same batch as its first message still joins its ticket."""

    ref_by_message_id: dict[str, str] = field(default_factory=dict)
    existing_refs: set[str] = field(default_factory=set)
    recent_replies: dict[str, int] = field(default_factory=dict)
    closed_replies: set[tuple[str, str]] = field(default_factory=set)  # (address, period)
    surveys: dict[str, SurveyInfo] = field(default_factory=dict)  # sent surveys by ticket ref

    def opened(
        self, decision: Acknowledge | Record, message_ids: Iterable[str | None], moment: Moment
    ) -> None:
        self.existing_refs.add(decision.ref)
        for message_id in message_ids:
            if message_id:
                self.ref_by_message_id[message_id] = decision.ref
        if isinstance(decision, Acknowledge):
            self.recent_replies[decision.target] = self.recent_replies.get(decision.target, 0) + 1
            if decision.template == OUT_OF_HOURS and moment.period:
                self.closed_replies.add((decision.target, moment.period))

    def joined(self, ref: str, message_id: str | None) -> None:
        if message_id:
            self.ref_by_message_id[message_id] = ref


@dataclass(frozen=True)
class Policy:
    channel: str
    guard: guards.GuardContext
    max_replies: int
    rules: RulesConfig
    vip: tuple[str, ...] = ()


def decide(
    mail: ParsedMail,
    policy: Policy,
    view: View,
    moment: Moment = OPEN,
    language: str | None = None,
    new_ref: Callable[[], str] = tickets.new_ref,
) -> Decision:
    """Machine mail is suppressed; a message in a known thread joins its ticket; anything else
    opens a ticket, and the first rule that matches says how (or whether) to reply."""
    verdict = guards.check(mail, policy.guard)
    if verdict is not None:
        return Suppress(verdict.rule, verdict.reason)
    for message_id in tickets.thread_message_ids(mail):
        if message_id in view.ref_by_message_id:
            return FollowUp(view.ref_by_message_id[message_id])
    for ref in tickets.refs_in_subject(mail.subject):
        if ref in view.existing_refs:
            return FollowUp(ref)
    target = tickets.reply_target(mail)
    if target is None or len(target) > MAX_ADDRESS:
        return Suppress("no-reply-address", "no usable address to reply to")
    recent = view.recent_replies.get(target, 0)
    if recent >= policy.max_replies:
        return Suppress("reply-cap", f"{recent} automatic replies to {target} in the window")
    facts = Facts(
        channel=policy.channel,
        sender=mail.from_addr,
        subject=mail.subject,
        body=mail.text,
        language=language,
        is_open=moment.is_open,
        holiday=moment.holiday,
        is_vip=is_vip(policy.vip, mail.from_addr),
    )
    match = evaluate(policy.rules, facts)
    return answer(
        match, target, fresh_ref(new_ref, view.existing_refs), moment, view.closed_replies
    )


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


def lookup_keys(mails: Iterable[ParsedMail]) -> tuple[set[str], set[str], set[str]]:
    """The message ids, subject references and reply targets a batch needs looked up."""
    ids: set[str] = set()
    refs: set[str] = set()
    targets: set[str] = set()
    for mail in mails:
        ids.update(i for i in tickets.thread_message_ids(mail) if len(i) <= MAX_MESSAGE_ID)
        refs.update(tickets.refs_in_subject(mail.subject))
        target = tickets.reply_target(mail)
        if target:
            targets.add(target)
    return ids, refs, targets
