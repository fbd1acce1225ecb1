"""The admin's `csat:` and `http:` sections: satisfaction surveys and the daemon's web endpoint."""

from __future__ import annotations

import re
from collections.abc import Sequence
from datetime import timedelta
from typing import Annotated, Self

from pydantic import AfterValidator, Field, SecretStr, ValidationInfo, model_validator

from responder.config.notify import ChannelLike, NotifyConfig, check_audience
from responder.config.types import (
    ChannelName,
    ConfigPath,
    EnvName,
    FrozenModel,
    Port,
    PositiveDuration,
    fail,
    inline_secret,
    load_context,
    read_secret,
)
from responder.config.weekly_hours import PeriodValue
from responder.domain.calendar import Period

__all__ = ["CsatConfig", "HttpConfig"]

_HOST = re.compile(r"[A-Za-z0-9.:\-\[\]]+", re.ASCII)
_URL = re.compile(r"https?://[^\s/?#]+(/[^\s?#]*)?", re.ASCII)


def _host(value: str) -> str:
    if not _HOST.fullmatch(value):
        raise fail("host", "expected an address to listen on, like 127.0.0.1")
    return value


def _public_url(value: str) -> str:
    if not _URL.fullmatch(value):
        raise fail("url", "expected the address customers reach us at, like https://help.example")
    return value.rstrip("/")


class HttpConfig(FrozenModel):
    """The daemon's small web endpoint: /metrics, /healthz and the survey pages (issue 6).

    Absent: nothing listens. It binds to loopback unless told otherwise; put a reverse proxy
    with TLS in front of it to let customers reach the survey pages.
    """

    host: Annotated[str, AfterValidator(_host)] = "127.0.0.1"
    port: Port = 8080
    # Where customers reach the survey pages (behind the proxy); needed for survey links.
    public_url: Annotated[str, AfterValidator(_public_url)] | None = None
    # Signs survey links. Absent: a random secret kept in the database.
    secret_file: ConfigPath | None = None
    secret_env: EnvName | None = None
    secret: SecretStr | None = None

    @model_validator(mode="before")
    @classmethod
    def _never_inline(cls, data: object) -> object:
        if isinstance(data, dict) and "secret" in data:
            raise inline_secret("secret")
        return data

    @model_validator(mode="after")
    def _load_secret(self, info: ValidationInfo) -> Self:
        if self.secret_file is not None or self.secret_env is not None:
            ctx = load_context(info)
            self.__dict__["secret"] = read_secret(ctx, self.secret_file, self.secret_env, "secret")
        return self


class CsatConfig(FrozenModel):
    """The `csat:` section: one short survey per ticket, after it is resolved."""

    # How long after a ticket is resolved its survey goes; a reopen meanwhile cancels it.
    after_resolved: PositiveDuration = timedelta(hours=1)
    # Also survey a ticket left open this long after the last staff reply, if the customer
    # has not written since. Absent: only resolved tickets are surveyed.
    after_quiet: PositiveDuration | None = None
    # The customer's local hours a survey may be sent in; outside them it waits.
    send_between: PeriodValue = Period(9 * 60, 20 * 60)
    # A customer gets at most one survey in this window, however many tickets they had.
    once_per: PositiveDuration = timedelta(days=30)
    # How long a survey can be answered; after that a reply is an ordinary message.
    answer_within: PositiveDuration = timedelta(days=14)
    # Also ask how likely the customer is to recommend us, from 0 to 10 (Net Promoter Score).
    nps: bool = Field(default=False, strict=True)
    # Ratings at or below this tell staff, with the comment.
    low: int = Field(default=2, strict=True, ge=0, le=4)
    notify: NotifyConfig | None = None  # None: the ticket's own channel's staff
    # One-click rating links in survey emails, to the http endpoint's survey pages.
    links: bool = Field(default=False, strict=True)
    # The channels whose tickets are surveyed; empty: all of them.
    channels: tuple[ChannelName, ...] = ()


def check_csat(
    csat: CsatConfig | None, http: HttpConfig | None, channels: Sequence[ChannelLike]
) -> None:
    """What only the whole config can tell: links need a public address, names must exist."""
    if csat is None:
        return
    if csat.links and (http is None or http.public_url is None):
        message = "survey links need the http section with a public_url customers can reach"
        raise fail("links", message, ("csat", "links"), show_input=False)
    names = {c.name for c in channels}
    for index, name in enumerate(csat.channels):
        if name not in names:
            message = f'"{name}" is no channel'
            raise fail("channel", message, ("csat", "channels", index), show_input=False)
    if csat.notify is not None:
        check_audience(csat.notify, ("csat", "notify"), channels)
