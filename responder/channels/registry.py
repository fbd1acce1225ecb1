"""The one table of channel types: each type's config section, wire module, adapter and profile."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from responder.channels.base import Channel, FetchFile, Peers, Site
from responder.common.metrics import Metrics
from responder.common.tasks import TaskGroup
from responder.config import (
    EmailChannelConfig,
    TelegramChannelConfig,
    WebChatChannelConfig,
    WhatsAppChannelConfig,
)
from responder.core.canned import MB
from responder.core.channel import ChannelProfile, Wire
from responder.core.guards import GuardContext
from responder.core.leases import intake_lease as lease_name
from responder.wire.email.attachments import EMAIL_FILE
from responder.wire.email.wire import EMAIL
from responder.wire.telegram.wire import TELEGRAM
from responder.wire.webchat.files import FILE_TYPES
from responder.wire.webchat.wire import WEBCHAT
from responder.wire.whatsapp.wire import WHATSAPP

if TYPE_CHECKING:
    from responder.channels.oauth import TokensFor


@dataclass(frozen=True)
class Given:
    """What the composition root gives a channel besides its config: `tokens_for`, the
    access tokens of an email channel that signs in with OAuth2; `metrics`, what a channel
    counts of its own (refused webhooks, delivery reports); `files`, customers' files from
    the channel that keeps them, for a staff group."""

    tasks: TaskGroup
    tokens_for: TokensFor | None
    metrics: Metrics
    files: FetchFile | None
    site: Site | None  # the public address, clock and hours, for a channel serving browsers
    # The other instances on the database, for a channel holding customers' streams here.
    peers: Peers | None = None


ChannelFactory = Callable[[Any, Given], Channel]


@dataclass(frozen=True)
class ChannelType:
    """Everything responder knows about one `type:` of channel."""

    config: type[Any]  # its section of the config file (config/channels.py)
    wire: Wire  # parse and render (wire/<type>/)
    adapter: ChannelFactory  # connect, intake, send, stop (channels/<type>/)
    profile: Callable[[Any], ChannelProfile]  # what deciding needs of its config
    # Intake that one instance at a time may run (issue 19), under the lease
    # `<lease>:<channel name>`: an IMAP mailbox's watchers, a bot's getUpdates (Telegram
    # answers a second poller 409 Conflict). None: every instance serves it (webhooks, the
    # website chat); sending is never leased.
    lease: str | None = None


# Each adapter is imported when a channel of its type is configured: a daemon that only reads
# mail loads none of the Telegram or WhatsApp code (the README's memory budget).
def _email(config: Any, given: Given) -> Channel:
    from responder.channels.email.channel import EmailChannel

    return EmailChannel(config, given.tasks, given.tokens_for, given.files)


def _telegram(config: Any, given: Given) -> Channel:
    from responder.channels.telegram.bot import TelegramChannel

    return TelegramChannel(config, given.tasks, given.files)


def _whatsapp(config: Any, given: Given) -> Channel:
    from responder.channels.whatsapp.channel import WhatsAppChannel

    return WhatsAppChannel(config, given.tasks, given.metrics, given.files)


def _webchat(config: Any, given: Given) -> Channel:
    from responder.channels.webchat.channel import WebChatChannel

    return WebChatChannel(config, given.tasks, given.metrics, given.site, given.files, given.peers)


def _email_profile(channel: EmailChannelConfig) -> ChannelProfile:
    own = frozenset({channel.address, *channel.aliases})
    return ChannelProfile(
        name=channel.name,
        address=channel.address,
        display_name=channel.display_name,
        language=channel.language,
        envelope_from=channel.smtp.envelope_from or "",
        guard=GuardContext(
            own_addresses=own, own_domains=frozenset(a.rpartition("@")[2] for a in own)
        ),
        wire=EMAIL,
        staff=tuple(channel.staff),
        max_document=EMAIL_FILE,
        max_image=EMAIL_FILE,
    )


def _chat_profile(channel: Any, wire: Wire, staff_chat: int | None = None) -> ChannelProfile:
    """A chat app's channel: no address of its own; its staff group, if it has one, is its
    own desk."""
    return ChannelProfile(
        name=channel.name,
        address="",
        display_name=channel.display_name or channel.name,
        language=channel.language,
        envelope_from="",
        guard=GuardContext(own_addresses=frozenset(), own_domains=frozenset()),
        wire=wire,
        staff_chat=staff_chat,
        desk=channel.name if staff_chat is not None else None,
    )


def _telegram_profile(channel: TelegramChannelConfig) -> ChannelProfile:
    # Bot API, "Sending files": up to 10 MB for photos, 50 MB for other files.
    profile = _chat_profile(channel, TELEGRAM, channel.staff_chat_id)
    return dataclasses.replace(profile, max_document=50 * MB, max_image=10 * MB)


def _whatsapp_profile(channel: WhatsAppChannelConfig) -> ChannelProfile:
    approved = tuple(sorted(channel.approved_templates().items()))
    # Cloud API, "Supported media types": documents up to 100 MB, images up to 5 MB.
    return dataclasses.replace(
        _chat_profile(channel, WHATSAPP), approved=approved, max_document=100 * MB, max_image=5 * MB
    )


def _webchat_profile(channel: WebChatChannelConfig) -> ChannelProfile:
    # Staff answers may carry images and PDFs up to max_file (issue 17).
    files = tuple(FILE_TYPES)
    return dataclasses.replace(
        _chat_profile(channel, WEBCHAT),
        max_file=channel.max_file,
        file_types=files,
        max_document=channel.max_file,
        max_image=channel.max_file,
    )


CHANNEL_TYPES: dict[str, ChannelType] = {
    "email": ChannelType(EmailChannelConfig, EMAIL, _email, _email_profile, lease="imap"),
    "telegram": ChannelType(
        TelegramChannelConfig, TELEGRAM, _telegram, _telegram_profile, lease="telegram"
    ),
    "whatsapp": ChannelType(WhatsAppChannelConfig, WHATSAPP, _whatsapp, _whatsapp_profile),
    "webchat": ChannelType(WebChatChannelConfig, WEBCHAT, _webchat, _webchat_profile),
}


def build_channel(
    config: Any,
    tasks: TaskGroup,
    tokens_for: TokensFor | None = None,
    metrics: Metrics | None = None,
    files: FetchFile | None = None,
    site: Site | None = None,
    peers: Peers | None = None,
) -> Channel:
    """The adapter for `config`, given what Given describes."""
    given = Given(tasks, tokens_for, metrics or Metrics(), files, site, peers)
    return CHANNEL_TYPES[config.type].adapter(config, given)


def profile(config: Any) -> ChannelProfile:
    return CHANNEL_TYPES[config.type].profile(config)


def intake_lease(config: Any) -> str | None:
    """The lease a channel's intake runs under, or None when every instance serves it."""
    kind = CHANNEL_TYPES[config.type].lease
    return lease_name(kind, config.name) if kind is not None else None


def template_parts() -> tuple[str, ...]:
    """The template parts of every channel type (`telegram`), which `check` renders too."""
    parts = {t.wire.template_part for t in CHANNEL_TYPES.values()}
    return tuple(sorted(p for p in parts if p))
