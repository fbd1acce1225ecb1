"""One inbound message in every channel's terms: each channel's wire module parses into it."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Protocol


class MailHeaders(Protocol):
    """An email as the machine-mail guards read it: its headers and top-level structure."""

    @property
    def message_id(self) -> str | None: ...
    @property
    def in_reply_to(self) -> tuple[str, ...]: ...
    @property
    def references(self) -> tuple[str, ...]: ...
    @property
    def subject(self) -> str: ...
    @property
    def from_addr(self) -> str | None: ...
    @property
    def from_name(self) -> str: ...
    @property
    def reply_to(self) -> tuple[str, ...]: ...
    @property
    def return_path(self) -> str | None: ...
    @property
    def text(self) -> str: ...

    def header(self, name: str) -> tuple[str, ...]:
        """Every value of header `name` (any case), unfolded and RFC 2047 decoded."""
        ...

    def header_names(self) -> tuple[str, ...]:
        """The header names in order, as the sender spelled them."""
        ...

    def first_address(self, name: str) -> str | None:
        """The one address in the first `name` header, lowercased; None if none or several."""
        ...

    def part_types(self) -> list[str]:
        """The content types of the message and of its direct parts, lowercased."""
        ...

    def content_param(self, name: str) -> str:
        """A parameter of the message's own Content-Type, lowercased, "" when absent."""
        ...


@dataclass(frozen=True)
class Sender:
    """Who wrote, as deciding and staff see them."""

    address: str | None  # what rules, VIP patterns and staff lists match: an email address,
    # "@username" or a numeric user id; None when the message names nobody usable
    name: str = ""
    handle: str = ""  # a chat username, shown to staff
    reply_to: str | None = None  # where an answer reaches them: an address, a private chat
    actor: str = ""  # how a ticket's events name them


@dataclass(frozen=True)
class Thread:
    """What ties a message to a conversation, and to a ticket."""

    message_id: str | None = None  # mail: its Message-ID
    own_ids: tuple[str, ...] = ()  # mail: its ids a later reply may name, kept with the ticket
    in_reply_to: tuple[str, ...] = ()  # mail: In-Reply-To, as written
    references: tuple[str, ...] = ()  # mail: References, as written
    parents: tuple[str, ...] = ()  # the ids of what it answers, nearest first
    refs: tuple[str, ...] = ()  # ticket references it names ("[#K7Q2XM]" in a subject)
    chat: int | None = None  # chat: the chat it was written in
    post: int | None = None  # chat: its id in that chat
    reply_to: int | None = None  # chat: the message in the same chat it answers
    topic: int | None = None  # chat: the forum topic it was written in
    # A customer's own conversation with us (a private chat): their open ticket takes their
    # next message. None where tickets follow the thread's ids instead (mail).
    conversation: str | None = None


@dataclass(frozen=True)
class Attachment:
    """A file that came with the message."""

    kind: str  # the channel's word for it: a MIME type (mail), photo, voice, document (chat)
    name: str = ""
    size: int | None = None  # bytes, as sent
    # Where the file still is, when the message did not carry it: the channel's id to fetch
    # it by (a WhatsApp media id), and its MIME type as the channel says.
    ref: str = ""
    mime: str = ""


@dataclass(frozen=True)
class Press:
    """A button of ours pressed."""

    data: str  # what the button carries
    query: str | None = None  # the channel's id for answering the press


@dataclass(frozen=True)
class Signals:
    """What the channel itself says about a message, beyond its words."""

    ignored: tuple[str, str] | None = None  # not someone writing to us: (rule, reason)
    mail: MailHeaders | None = None  # mail: the headers the machine-mail guards read
    bot: bool = False  # the channel says a bot sent it
    group: str | None = None  # posted in a group or channel, not privately: which kind
    service: bool = False  # nobody wrote anything: a join, a pin, a topic renamed
    staff: bool = False  # the channel vouches the sender is staff (staff group member)
    # The channel vouches a person wrote it (chat apps flag bots): a reply cap then holds back
    # only the automatic reply, never the ticket. Mail makes no such promise.
    person: bool = False
    command: str | None = None  # "/start", "/close"... lowercased
    args: str = ""  # what follows the command
    press: Press | None = None


@dataclass(frozen=True)
class Message:
    """One inbound message, parsed and made safe; customer text is data, never markup."""

    sender: Sender
    thread: Thread = field(default_factory=Thread)
    text: str = ""  # the body, or a media message's caption
    subject: str = ""  # mail's Subject; chats have none
    title: str = ""  # what a ticket it opens is called: the subject, a chat's first line
    language: str | None = None  # the channel's hint (a chat app's language setting)
    attachments: tuple[Attachment, ...] = ()
    signals: Signals = field(default_factory=Signals)
    date: datetime | None = None  # when the sender says they wrote it
    # When it happened, where the channel knows better than the moment it is decided: mail
    # found later (a staff reply in the Sent folder) counts from when the server took it.
    at: datetime | None = None
    # An email address the customer left to be answered at as well (the web chat's offline
    # form, issue 17): such a message says only that.
    reach: str | None = None
    # The sender's own phone number, where the channel vouches it is theirs (a Telegram user
    # who shared their own contact): the same person as that WhatsApp number (issue 18).
    phone: str | None = None
