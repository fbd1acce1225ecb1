"""The explicit table of channel types: config `type` -> the adapter that serves it."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from responder.channels.base import Channel
from responder.channels.email import EmailChannel
from responder.channels.telegram import TelegramChannel
from responder.tasks import TaskGroup

ChannelFactory = Callable[[Any, TaskGroup], Channel]

CHANNEL_TYPES: dict[str, ChannelFactory] = {
    "email": EmailChannel,
    "telegram": TelegramChannel,
}


def build_channel(config: Any, tasks: TaskGroup) -> Channel:
    return CHANNEL_TYPES[config.type](config, tasks)
