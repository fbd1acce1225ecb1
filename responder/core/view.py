"""What deciding a batch knows from the database: the keys to look up, and the view."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime

from responder.core.decisions import OUT_OF_HOURS, Acknowledge, Moment, Record
from responder.core.history import History
from responder.domain.csat import SurveyInfo, read_press
from responder.domain.message import Message

# The longest Message-ID the database keeps for threading; longer ones (RFC 5322 allows 998
# octets on a line) only lose threading, never the message.
MAX_MESSAGE_ID = 400
# Staff commands that name two tickets, or one when they answer another ticket's post.
PAIRED = ("/link", "/merge")


@dataclass(frozen=True)
class TicketInfo:
    ref: str
    customer: str
    status: str
    language: str
    name: str
    channel: str = ""  # where the customer wrote: a staff desk answers mail by email
    # The email address the customer left to be answered at as well (the web chat's offline
    # form, issue 17): the last one they gave.
    reach: str | None = None
    resolved_at: datetime | None = None  # when it was last resolved (the reopen window)
    created_at: datetime | None = None  # the older of two tickets is the one /merge keeps
    merged_into: str | None = None  # a merged duplicate's ticket (issue 18)


@dataclass
class View:
    """What the database knew when a batch was loaded, kept current as the batch is decided,
    so a follow-up in the same batch as its first message still joins its ticket."""

    # Threads by their ids (mail), and tickets named by reference.
    ref_by_message_id: dict[str, str] = field(default_factory=dict)
    existing_refs: set[str] = field(default_factory=set)
    # Automatic replies per recipient in the cap's window, and who already heard we are
    # closed in which closed period: (recipient, period).
    recent_replies: dict[str, int] = field(default_factory=dict)
    closed_replies: set[tuple[str, str]] = field(default_factory=set)
    # Conversations (chat): each customer's open ticket, and the staff group's posts and
    # forum topics by the ticket they belong to.
    open_by_customer: dict[str, str] = field(default_factory=dict)
    # Each chat customer with none open: their last resolved ticket (issue 18's reopen window).
    resolved_by_customer: dict[str, str] = field(default_factory=dict)
    # A resolved ticket's open successor, opened past its reopen window: where a later mail
    # in the old thread goes, so it does not open yet another ticket.
    followed_by: dict[str, str] = field(default_factory=dict)
    ref_by_post: dict[int, str] = field(default_factory=dict)
    ref_by_topic: dict[int, str] = field(default_factory=dict)
    topic_by_ref: dict[str, int] = field(default_factory=dict)
    tickets: dict[str, TicketInfo] = field(default_factory=dict)
    # Sent surveys: by ticket (answered in a reply mail), by id (the ones buttons name) and by
    # the message they went out as (answered by replying to it).
    surveys_by_ref: dict[str, SurveyInfo] = field(default_factory=dict)
    surveys: dict[int, SurveyInfo] = field(default_factory=dict)
    survey_posts: dict[int, SurveyInfo] = field(default_factory=dict)
    # Another channel's tickets answered in this channel's staff group: the customer's last
    # message as recorded (raw), then as read by its channel's wire, for threading the answer.
    last_raw: dict[str, tuple[str, bytes]] = field(default_factory=dict)  # (channel, raw)
    last_message: dict[str, Message] = field(default_factory=dict)
    # Each customer's contact and its tickets (issue 18), by customer, and by "#REF" for the
    # tickets staff name (/history, /link).
    histories: dict[str, History] = field(default_factory=dict)
    # The customer messages of each ticket named, read only for a batch with a /merge.
    messages: dict[str, int] = field(default_factory=dict)

    def current(self, ref: str) -> str:
        """The ticket `ref` is now: a merged duplicate's messages go to its ticket."""
        info = self.tickets.get(ref)
        return info.merged_into if info is not None and info.merged_into else ref

    def opened(
        self,
        decision: Acknowledge | Record,
        moment: Moment,
        message_ids: Iterable[str | None] = (),
        info: TicketInfo | None = None,
    ) -> None:
        self.existing_refs.add(decision.ref)
        if decision.follows:
            self.followed_by[decision.follows] = decision.ref
        for message_id in message_ids:
            if message_id:
                self.ref_by_message_id[message_id] = decision.ref
        if info is not None:
            self.open_by_customer[decision.target] = decision.ref
            self.tickets[decision.ref] = info
        if isinstance(decision, Acknowledge):
            self.recent_replies[decision.target] = self.recent_replies.get(decision.target, 0) + 1
            if decision.template == OUT_OF_HOURS and moment.period:
                self.closed_replies.add((decision.target, moment.period))

    def joined(self, ref: str, message_id: str | None) -> None:
        if message_id:
            self.ref_by_message_id[message_id] = ref

    def reached(self, ref: str, address: str) -> None:
        """The customer of `ref` left `address`: staff answers in this batch go there too."""
        if ref in self.tickets:
            self.tickets[ref] = dataclasses.replace(self.tickets[ref], reach=address)

    def status(self, ref: str, status: str) -> None:
        info = self.tickets[ref]
        self.tickets[ref] = dataclasses.replace(info, status=status)
        if status == "open":
            self.open_by_customer[info.customer] = ref
            if self.resolved_by_customer.get(info.customer) == ref:
                del self.resolved_by_customer[info.customer]
        elif self.open_by_customer.get(info.customer) == ref:
            del self.open_by_customer[info.customer]


@dataclass(frozen=True)
class ViewKeys:
    """What a batch names, for one read of the database. `channel` is set where customers
    and posts mean something only within one channel (a chat's ids); mail's addresses and
    Message-IDs mean the same in every mailbox."""

    channel: str | None
    staff_chat: int | None
    message_ids: frozenset[str]  # ids replies name as their parents
    refs: frozenset[str]  # references named, and fresh ones to check for collisions
    targets: frozenset[str]  # where replies would go, for the per-sender cap
    customers: frozenset[str]  # conversations whose open ticket is wanted
    posts: frozenset[int]  # staff-group posts answered
    threads: frozenset[int]  # staff-group forum topics written in
    surveys: frozenset[int]  # named by survey buttons pressed
    replied: frozenset[int]  # our messages customers replied to (a survey?)
    merging: bool = False  # a /merge in the staff group: count the named tickets' messages


def lookup_keys(
    msgs: Sequence[Message],
    candidates: Iterable[str],
    channel: str | None = None,
    staff_chat: int | None = None,
) -> ViewKeys:
    desk = [m for m in msgs if staff_chat is not None and m.thread.chat == staff_chat]
    named = {
        word.lstrip("#").upper()
        for m in desk
        if m.signals.args
        # /link and /merge name two tickets (issue 18); other commands one, then their text.
        for word in m.signals.args.split(maxsplit=2)[: 2 if m.signals.command in PAIRED else 1]
    }
    return ViewKeys(
        channel=channel,
        staff_chat=staff_chat,
        message_ids=frozenset(
            i for m in msgs for i in m.thread.parents if len(i) <= MAX_MESSAGE_ID
        ),
        refs=frozenset({r for m in msgs for r in m.thread.refs} | named | set(candidates)),
        targets=frozenset(m.sender.reply_to for m in msgs if m.sender.reply_to),
        customers=frozenset(m.thread.conversation for m in msgs if m.thread.conversation),
        posts=frozenset(m.thread.reply_to for m in desk if m.thread.reply_to is not None),
        threads=frozenset(m.thread.topic for m in desk if m.thread.topic is not None),
        surveys=frozenset(
            p[0] for m in msgs if m.signals.press and (p := read_press(m.signals.press.data))
        ),
        replied=frozenset(
            m.thread.reply_to
            for m in msgs
            if m.thread.conversation and m.thread.reply_to is not None
        ),
        merging=any(m.signals.command == "/merge" for m in desk),
    )
