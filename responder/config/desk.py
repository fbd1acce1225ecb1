"""Which staff desk hears each channel's tickets: the `staff_desk` key (a Telegram staff
group; for a web chat, also a mailbox's staff addresses)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from responder.config.types import fail

NONE = "none"  # `staff_desk: none`: this channel's tickets go to no staff group


def _groups(channels: Sequence[Any]) -> list[str]:
    return [
        c.name
        for c in channels
        if c.type == "telegram" and getattr(c, "staff_chat_id", None) is not None
    ]


def check_desks(channels: Sequence[Any]) -> None:
    """Each `staff_desk` names a Telegram channel with a staff group, or for a web chat an
    email channel with staff addresses (issue 17); errors at the key."""
    groups = set(_groups(channels))
    known = {c.name: c for c in channels}
    for index, channel in enumerate(channels):
        name = getattr(channel, "staff_desk", None)
        if name is None or name == NONE or name in groups:
            continue
        named = known.get(name)
        if channel.type == "webchat" and named is not None and named.type == "email":
            if named.staff:
                continue
            message = (
                f'"{name}" has no staff addresses to mail visitors\' messages to: add them to '
                f"that channel (staff: [ani@example.com]), or name a telegram channel with a "
                "staff_chat_id, or write none"
            )
        else:
            what = "no channel" if named is None else "not a telegram channel with a staff_chat_id"
            mail = ", or an email channel with staff" if channel.type == "webchat" else ""
            message = f'"{name}" is {what}: name one that has a staff group{mail}, or write none'
        raise fail("staff_desk", message, ("channels", index, "staff_desk"), show_input=False)


def desks(channels: Sequence[Any]) -> dict[str, str | None]:
    """Each channel's desk: a Telegram channel with a staff group is its own; another says
    `staff_desk`, or else has the one staff group there is, if there is exactly one."""
    groups = _groups(channels)
    default = groups[0] if len(groups) == 1 else None
    out: dict[str, str | None] = {}
    for channel in channels:
        if channel.name in groups:
            out[channel.name] = channel.name
            continue
        if channel.type == "telegram":
            out[channel.name] = None  # a bot's customers are copied only within its own bot
            continue
        name = getattr(channel, "staff_desk", None)
        out[channel.name] = None if name == NONE else (name or default)
    return out
