"""Deciding, pure: what to do with one parsed message, given what the database already knows."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

from responder import guards, tickets
from responder.mail.parse import ParsedMail

# RFC 5321 section 4.5.3.1.3: a path is at most 256 octets, brackets included.
MAX_ADDRESS = 254
# The longest Message-ID the database keeps for threading; longer ones (RFC 5322 allows 998
# octets on a line) only lose threading, never the message.
MAX_MESSAGE_ID = 400


@dataclass(frozen=True)
class Suppress:
    rule: str
    reason: str


@dataclass(frozen=True)
class FollowUp:
    ref: str


@dataclass(frozen=True)
class Acknowledge:
    target: str
    ref: str


Decision = Suppress | FollowUp | Acknowledge


@dataclass
class View:
    """What the database knew when a batch was loaded, kept current as the batch is decided,
    so a follow-up in the same batch as its first message still joins its ticket."""

    ref_by_message_id: dict[str, str] = field(default_factory=dict)
    existing_refs: set[str] = field(default_factory=set)
    recent_replies: dict[str, int] = field(default_factory=dict)

    def opened(self, ref: str, message_ids: Iterable[str | None], target: str) -> None:
        self.existing_refs.add(ref)
        for message_id in message_ids:
            if message_id:
                self.ref_by_message_id[message_id] = ref
        self.recent_replies[target] = self.recent_replies.get(target, 0) + 1

    def joined(self, ref: str, message_id: str | None) -> None:
        if message_id:
            self.ref_by_message_id[message_id] = ref


@dataclass(frozen=True)
class Policy:
    guard: guards.GuardContext
    max_replies: int


def decide(
    mail: ParsedMail, policy: Policy, view: View, new_ref: Callable[[], str] = tickets.new_ref
) -> Decision:
    """Machine mail is suppressed; a message in a known thread joins its ticket; anything else
    opens a ticket and is acknowledged, unless the sender hit the reply cap."""
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
    ref = new_ref()
    while ref in view.existing_refs:
        ref = new_ref()
    return Acknowledge(target, ref)


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
