"""Who hears of a notice (SLA alerts, low ratings): staff addresses and Telegram staff groups,
and the check that the config's channels can reach them."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol, Self

from pydantic import model_validator

from responder.config.types import ChannelName, EmailAddress, FrozenModel, fail
from responder.config.yamlload import KeyPath
from responder.domain.sla_policy import Audience

__all__ = ["ChannelLike", "NotifyConfig", "check_audience"]


class NotifyConfig(FrozenModel):
    """Who hears of reminders and breaches: staff addresses, Telegram channels' staff groups."""

    email: tuple[EmailAddress, ...] = ()
    telegram: tuple[ChannelName, ...] = ()

    @model_validator(mode="after")
    def _someone(self) -> Self:
        if not self.email and not self.telegram:
            message = "give email or telegram (or both): who should hear of it"
            raise fail("no_audience", message, show_input=False)
        return self

    def audience(self) -> Audience:
        return Audience(self.email, self.telegram)


class ChannelLike(Protocol):
    @property
    def name(self) -> str: ...

    @property
    def type(self) -> str: ...


def check_audience(audience: NotifyConfig, at: KeyPath, channels: Sequence[ChannelLike]) -> None:
    """The people a notice goes to can be reached: by an email channel, in staff groups."""
    if audience.email and not any(c.type == "email" for c in channels):
        message = "email notices are sent through an email channel's SMTP server: "
        message += "add an email channel, or use telegram"
        raise fail("no_email_channel", message, (*at, "email"), show_input=False)
    by_name = {channel.name: channel for channel in channels}
    for n, name in enumerate(audience.telegram):
        _staff_group(by_name.get(name), name, (*at, "telegram", n))


def _staff_group(channel: ChannelLike | None, name: str, at: KeyPath) -> None:
    if channel is None or channel.type != "telegram":
        what = "no channel" if channel is None else "not a telegram channel"
        raise fail("telegram_channel", f'"{name}" is {what}', at, show_input=False)
    if getattr(channel, "staff_chat_id", None) is None:
        message = f'telegram channel "{name}" has no staff_chat_id: there is no group to tell'
        raise fail("telegram_channel", message, at, show_input=False)
