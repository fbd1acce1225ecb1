"""The website chat channel's section (issue 17): a widget on the shop's pages, served and
answered on the daemon's HTTP endpoint."""

from __future__ import annotations

import re
from collections.abc import Sequence
from datetime import timedelta
from typing import Annotated, Any, Literal
from urllib.parse import urlsplit

from pydantic import AfterValidator, Field, field_validator

from responder.config.csat import HttpConfig
from responder.config.types import (
    ChannelName,
    FrozenModel,
    PositiveDuration,
    Text,
    byte_size,
    fail,
)

__all__ = [
    "CHAT_PREFIX",
    "WebChatChannelConfig",
    "WebChatLimits",
    "check_email_channels",
    "check_public_url",
    "email_channels",
]

NONE = "none"  # `email_channel: none`: the panel never asks for an email address

CHAT_PREFIX = "/chat/"  # + the channel's name: the widget, its panel and its API

# An origin as browsers send it (RFC 6454 section 6.1): scheme, host, an optional port;
# no path, no trailing slash, no credentials.
_ORIGIN = re.compile(r"(https?)://([a-z0-9.-]+|\[[0-9a-f:.]+\])(?::([0-9]{1,5}))?", re.ASCII)


def origin_of(url: str) -> str:
    """scheme://host[:port] of a URL, the port left out where it is the scheme's own."""
    parts = urlsplit(url)
    default = {"http": 80, "https": 443}.get(parts.scheme)
    host = parts.hostname or ""
    if ":" in host:
        host = f"[{host}]"
    port = parts.port
    return f"{parts.scheme}://{host}" + (f":{port}" if port and port != default else "")


def _origins(values: tuple[str, ...]) -> tuple[str, ...]:
    out: list[str] = []
    for index, value in enumerate(values):
        found = _ORIGIN.fullmatch(value.lower())
        port = found.group(3) if found else None
        if found is None or (port is not None and not 1 <= int(port) <= 65535):
            message = (
                f'"{value}" is not an origin: write scheme://host[:port] as the browser shows '
                'it, like "https://toko-contoh.id" (no path, no trailing slash)'
            )
            raise fail("origin", message, (index,), show_input=False)
        out.append(origin_of(value.lower()))
    return tuple(dict.fromkeys(out))


class WebChatLimits(FrozenModel):
    """How much one visitor, and one address, may ask of the endpoint (issue 17: per-visitor
    and per-address rate limits)."""

    # Messages one visitor may send in a minute (a burst of as many, then one every
    # 60/n seconds).
    visitor_per_minute: int = Field(default=12, strict=True, ge=1, le=10_000)
    # Requests (sessions, messages, polls) from one IP address in a minute: many
    # visitors behind one office router share it.
    address_per_minute: int = Field(default=120, strict=True, ge=1, le=100_000)
    # Streams one visitor may hold open at once (one per open tab).
    streams_per_visitor: int = Field(default=8, strict=True, ge=1, le=100)
    # Streams open at once on the channel; past it a stream is refused (503) and the
    # widget falls back to polling.
    streams: int = Field(default=2000, strict=True, ge=1, le=100_000)


class WebChatChannelConfig(FrozenModel):
    """A chat panel on the shop's website: visitors write from the page, answers come back
    live; staff answer from the staff desk."""

    name: ChannelName
    type: Literal["webchat"]
    # The shop's pages that may embed the widget and call it, as scheme://host[:port].
    allowed_origins: Annotated[tuple[str, ...], AfterValidator(_origins)] = Field(min_length=1)
    title: Text  # the panel's heading, and the shop's name in replies
    language: Literal["id", "en"] = "en"  # when the visitor's browser says neither
    # The Telegram channel whose staff group hears this chat's tickets, or an email channel
    # whose staff addresses are mailed each visitor message and answer by reply (desk.py).
    staff_desk: ChannelName | None = None
    # The email channel a visitor's conversation continues on once they leave an address
    # (the offline form); by default the one email channel there is; `none`: no form.
    email_channel: ChannelName | None = None
    # The panel asks for an email address when the shop is closed, or when no staff reply
    # has come this long after the visitor's message.
    ask_email_after: PositiveDuration = timedelta(minutes=5)
    # The largest message a visitor may send (the request body), 1KB to 64KB.
    max_message: int = Field(default=8 * 1024, ge=1024, le=64 * 1024)
    # The largest file (an image or a PDF) sent either way, 64KB to 20MB: the daemon holds
    # it in memory while it passes it on, and the Bot API fetches at most 20 MB.
    max_file: int = Field(default=5 * 1024 * 1024, ge=64 * 1024, le=20 * 1024 * 1024)
    # How long a visitor's browser keeps its conversation without coming back.
    token_lifetime: PositiveDuration = timedelta(days=30)
    # A comment line on each open stream this often, so proxies do not close it as idle.
    keepalive: PositiveDuration = timedelta(seconds=15)
    limits: WebChatLimits = Field(default_factory=WebChatLimits)

    @field_validator("max_message", "max_file", mode="before")
    @classmethod
    def _byte_size(cls, value: object) -> object:
        return byte_size(value)

    @field_validator("keepalive")
    @classmethod
    def _keepalive(cls, value: timedelta) -> timedelta:
        if value > timedelta(seconds=55):
            raise fail("keepalive", "at most 55s: proxies close a stream idle for 60s")
        return value

    @property
    def display_name(self) -> str:
        return self.title

    @property
    def path(self) -> str:
        """Where the http endpoint serves this channel: /chat/<name>."""
        return f"{CHAT_PREFIX}{self.name}"


def check_public_url(http: HttpConfig | None, channels: Sequence[object]) -> None:
    """A web chat channel is served on the http endpoint and reached at its public address,
    which the widget's loader points the panel at; the error is at the channel."""
    for index, channel in enumerate(channels):
        if not isinstance(channel, WebChatChannelConfig):
            continue
        if http is not None and http.public_url is not None:
            continue
        fix = (
            "add public_url to the http section"
            if http is not None
            else "add an http section with public_url"
        )
        message = (
            f"a web chat is served on the daemon's HTTP endpoint: {fix} (the https:// address "
            "visitors' browsers reach it at, through your proxy); the shop's pages then load "
            f"<public_url>{channel.path}/widget.js"
        )
        raise fail("webchat", message, ("channels", index), show_input=False)


def _mailboxes(channels: Sequence[Any]) -> list[str]:
    return [c.name for c in channels if getattr(c, "type", None) == "email"]


def check_email_channels(channels: Sequence[object]) -> None:
    """Each web chat's `email_channel` names an email channel; the error is at the key."""
    mailboxes = set(_mailboxes(channels))
    for index, channel in enumerate(channels):
        if not isinstance(channel, WebChatChannelConfig):
            continue
        name = channel.email_channel
        if name is None or name == NONE or name in mailboxes:
            continue
        known = {getattr(c, "name", None) for c in channels}
        what = "no channel" if name not in known else "not an email channel"
        message = (
            f'"{name}" is {what}: name the email channel (type: email) whose mailbox answers '
            "visitors who leave their address, or write none"
        )
        where = ("channels", index, "email_channel")
        raise fail("email_channel", message, where, show_input=False)


def email_channels(channels: Sequence[Any]) -> dict[str, str | None]:
    """Each web chat's email channel: the one it names, else the only one there is; None
    when there is none (the panel then never asks for an address)."""
    mailboxes = _mailboxes(channels)
    default = mailboxes[0] if len(mailboxes) == 1 else None
    out: dict[str, str | None] = {}
    for channel in channels:
        if isinstance(channel, WebChatChannelConfig):
            name = channel.email_channel
            out[channel.name] = None if name == NONE else (name or default)
    return out
