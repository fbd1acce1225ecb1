"""A channel as the core sees it: its profile, and the contract its wire module keeps."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Literal, Protocol

from responder.core.guards import GuardContext
from responder.core.templates import Rendered, Templates
from responder.domain.message import Message
from responder.domain.records import NewReply
from responder.domain.window import ApprovedTemplate

# Rows of (label, data): buttons under a message.
Keyboard = tuple[tuple[tuple[str, str], ...], ...]
# How a channel ties messages to tickets: by the ids replies carry (mail), or by the
# customer's conversation, where their open ticket takes every message (chat).
Threading = Literal["headers", "conversation"]


@dataclass(frozen=True)
class Topic:
    """A ticket's own thread in a staff group (a forum topic); `thread` once it exists."""

    ref: str
    name: str
    thread: int | None = None


@dataclass(frozen=True)
class Parent:
    """What a reply answers: mail threads under it, a chat quotes it."""

    message_id: str | None = None
    references: tuple[str, ...] = ()
    in_reply_to: tuple[str, ...] = ()
    post: int | None = None

    @classmethod
    def of(cls, msg: Message) -> Parent:
        t = msg.thread
        return cls(t.message_id, t.references, t.in_reply_to, t.post)


@dataclass(frozen=True)
class Copy:
    """A message already in a chat, passed on as it is (a staff answer, a customer's photo),
    with a new caption if any."""

    chat: int
    post: int | None
    caption: str | None = None


@dataclass(frozen=True)
class FileRef:
    """A customer's file still on their channel's servers (WhatsApp media), fetched through
    that channel when the post carrying it is sent; `failed` says so in its place (markup,
    with `{reason}`) when it cannot be fetched."""

    channel: str
    ref: str
    kind: str
    name: str = ""
    mime: str = ""
    failed: str = ""


@dataclass(frozen=True)
class TemplateSend:
    """An approved template sent in place of a draft's own words, where the channel takes
    nothing else (WhatsApp, 24 hours after the customer last wrote)."""

    name: str
    language: str  # the platform's language code: id, en_US
    parameters: tuple[str, ...] = ()  # the body's variables, in order
    payloads: tuple[str, ...] = ()  # what each quick-reply button answers with, in order


@dataclass(frozen=True)
class Draft:
    """A message to send, in no channel's format yet. A channel renders what it can carry:
    mail has no buttons or topics (its survey carries links), a chat no subject."""

    kind: str  # what it is, as the replies table keeps it (a template name, staff_relay...)
    to: str  # an address, a chat id
    subject: str = ""
    text: str = ""  # plain text
    markup: str = ""  # the channel's markup for it (mail's HTML part); "" is `text` escaped
    to_name: str = ""
    parent: Parent | None = None
    # Answers nobody's message (to staff, a survey): RFC 3834 section 5's auto-generated.
    notice: bool = False
    # A person wrote it (a staff answer from the staff desk): not marked automatic at all.
    personal: bool = False
    topic: Topic | None = None
    buttons: Keyboard | None = None
    copy: Copy | None = None
    file: FileRef | None = None  # sent with `markup` as its caption
    edit: int | None = None  # replace this message of ours instead of sending a new one
    press: str | None = None  # the button press it answers (the channel's id for it)
    toast: str | None = None  # shown over the chat as the press is answered
    template: TemplateSend | None = None  # sent instead of the words (core/window.py)
    attach: tuple[FileRef, ...] = ()  # a canned answer's files (core/canned.py, issue 18)

    @classmethod
    def of(cls, kind: str, to: str, rendered: Rendered, **more: Any) -> Draft:
        return cls(kind, to, rendered.subject, rendered.text, rendered.html, **more)


class Desk(Protocol):
    """How a channel's staff group is written to: relayed customer messages and answers to
    staff commands, in its markup and within its length limit."""

    @property
    def limit(self) -> int:
        """The longest post, as `measure` counts."""
        ...

    def measure(self, markup: str) -> int: ...

    def word(self, language: str, key: str) -> str:
        """A staff-facing word ("new ticket"), plain."""
        ...

    def say(self, language: str, key: str, **values: str) -> str:
        """A staff-facing sentence ("#ABC234 closed by Sari."), as markup."""
        ...

    def head(self, ref: str, msg: Message, marks: Sequence[str]) -> str:
        """The line a relayed message starts with: the ticket, the customer, the marks."""
        ...

    def body(self, msg: Message) -> str:
        """The customer's message as staff read it."""
        ...

    def copied(self, msg: Message) -> bool:
        """Whether it is passed on as it is (a photo), not quoted."""
        ...

    def caption(self, head: str, msg: Message) -> str:
        """A copied message's new caption."""
        ...


class Wire(Protocol):
    """A channel's wire module, as the core sees it."""

    @property
    def kind(self) -> str:
        """The config `type` it serves: email, telegram."""
        ...

    @property
    def threading(self) -> Threading: ...

    @property
    def template_part(self) -> str | None:
        """Its own template part (`telegram`: <name>.telegram.j2), if it has one."""
        ...

    @property
    def reaches_addresses(self) -> bool:
        """Whether it writes to email addresses, so staff can be written to by address."""
        ...

    @property
    def desk(self) -> Desk | None:
        """How its staff group is written to, if it can have one."""
        ...

    @property
    def reply_window(self) -> timedelta | None:
        """How long after a customer's last message the channel still takes a free answer
        (WhatsApp: 24 hours); None: any time."""
        ...

    def parse(
        self, raw: bytes, received_at: datetime | None = None, external_id: str = ""
    ) -> Message:
        """The recorded bytes as a Message; never raises. CPU work: run off the event loop."""
        ...

    def content(
        self, templates: Templates, name: str, chain: Sequence[str], context: Mapping[str, Any]
    ) -> Rendered:
        """A template rendered in the parts this channel sends."""
        ...

    def render(self, draft: Draft, channel: ChannelProfile, now: datetime) -> NewReply:
        """The draft in wire form, from `channel`, ready to record and send."""
        ...


@dataclass(frozen=True)
class ChannelProfile:
    """What deciding needs to know about a channel, derived once from its config."""

    name: str
    address: str
    display_name: str | None
    language: str
    envelope_from: str
    guard: GuardContext
    wire: Wire
    staff: tuple[str, ...] = ()  # staff addresses
    staff_chat: int | None = None  # the staff group
    # The channel whose staff group hears this one's tickets (its own, for a Telegram channel
    # with a staff group); None: no group does (config `staff_desk`).
    desk: str | None = None
    # The email channel that also answers a customer who left an email address (the web
    # chat's offline form, issue 17); None: this channel never asks for one.
    by_email: str | None = None
    # Message kind -> the approved template sent once the reply window has closed.
    approved: tuple[tuple[str, ApprovedTemplate], ...] = ()
    # Files a staff member's answer may carry to this channel's customers (the website
    # chat, issue 17): the largest in bytes, and their MIME types; 0: only text goes there.
    max_file: int = 0
    file_types: tuple[str, ...] = ()
    # The largest canned file (issue 18) it sends, in bytes: a document, a picture.
    max_document: int = 0
    max_image: int = 0

    @property
    def domain(self) -> str:
        return self.address.rpartition("@")[2]
