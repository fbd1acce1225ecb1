"""The explicit table of channel types: config `type` -> the adapter that serves it."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from responder.channels.base import Channel
from responder.common.tasks import TaskGroup

if TYPE_CHECKING:
    from responder.channels.oauth import TokensFor

ChannelFactory = Callable[[Any, TaskGroup, Any], Channel]


# Each adapter is imported when a channel of its type is configured: python-telegram-bot and
# httpx alone hold ~8 MB of a daemon that only reads mail (the README's memory budget).
def _email(config: Any, tasks: TaskGroup, tokens_for: TokensFor | None) -> Channel:
    from responder.channels.email.channel import EmailChannel

    return EmailChannel(config, tasks, tokens_for)


def _telegram(config: Any, tasks: TaskGroup, tokens_for: TokensFor | None) -> Channel:
    from responder.channels.telegram.bot import TelegramChannel

    return TelegramChannel(config, tasks)


CHANNEL_TYPES: dict[str, ChannelFactory] = {
    "email": _email,
    "telegram": _telegram,
}


def build_channel(config: Any, tasks: TaskGroup, tokens_for: TokensFor | None = None) -> Channel:
    """`tokens_for`: the access tokens of an email channel that signs in with OAuth2."""
    return CHANNEL_TYPES[config.type](config, tasks, tokens_for)
