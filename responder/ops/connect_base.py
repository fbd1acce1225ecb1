"""What every `check --connect` check shares: its result line and the mailbox credentials."""

from __future__ import annotations

import asyncio
import contextlib
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Literal

from responder.channels.diagnose import Endpoint, diagnose
from responder.config import Config, EmailChannelConfig
from responder.config.oauth import token_file
from responder.errors import NotSignedIn

if TYPE_CHECKING:
    from responder.channels.oauth.tokens import TokenSource

Status = Literal["ok", "FAIL", "skip"]


@dataclass(frozen=True)
class Line:
    """One check's outcome, printed as `ok   support-mail IMAP: signed in to ...`."""

    status: Status
    who: str  # "support-mail IMAP", "http"
    text: str

    def __str__(self) -> str:
        return f"{self.status:<4} {self.who}: {self.text}"


def passed(who: str, text: str) -> Line:
    return Line("ok", who, text)


def failed(who: str, exc: BaseException, at: Endpoint, fallback: str = "") -> Line:
    """The admin's reading of `exc` (responder.channels.diagnose) with its remedy;
    `fallback` is the remedy when diagnose knows none."""
    diagnosis = diagnose(exc, at)
    text = str(diagnosis)
    if not diagnosis.remedy and fallback:
        text = f"{text}: {fallback}"
    return Line("FAIL", who, text)


class NotCheckable(Exception):
    """A check that this installation cannot run (OAuth2 sign-in without responder.oauth)."""


@dataclass(frozen=True)
class SignIn:
    """Who to sign in as, and with what: a password, or the channel's OAuth2 access tokens
    (XOAUTH2, with responder.channels.oauth.sasl as the daemon signs in)."""

    user: str
    password: str = field(default="", repr=False)
    tokens: TokenSource | None = None

    @property
    def oauth(self) -> bool:
        return self.tokens is not None


class SignIns:
    """Who IMAP and SMTP sign in as, and with what, for one run of the checks: the password
    read from the config, or the OAuth2 grant `responder login` saved. A channel's IMAP and
    SMTP checks share one token source, so one refresh serves both."""

    def __init__(self, config: Config, config_file: str) -> None:
        self._config = config
        self._config_file = config_file
        self._sources: dict[str, TokenSource] = {}
        self._owners: dict[Path, tuple[int, int]] = {}

    async def get(
        self, channel: EmailChannelConfig, service: Literal["imap", "smtp"]
    ) -> SignIn | None:
        """None for SMTP without a username (no AUTH). Secrets are loaded as required, so
        a password is there."""
        section = channel.imap if service == "imap" else channel.smtp
        if section.username is None:
            return None
        if section.auth == "oauth2":
            return SignIn(section.username, tokens=await self._tokens(channel))
        if section.password is None:
            raise NotCheckable(f"no password was read for {service}: set password_file")
        return SignIn(section.username, section.password.get_secret_value())

    async def _tokens(self, channel: EmailChannelConfig) -> TokenSource:
        """The one place that knows where access tokens come from (responder.channels.oauth)."""
        try:
            from responder.channels.oauth import token_source
        except ImportError:
            raise NotCheckable(
                "the OAuth2 sign-in cannot be checked yet: this installation of responder "
                "cannot get OAuth2 tokens"
            ) from None
        from responder.channels.oauth.grant import unreadable

        path = token_file(self._config.state_dir, channel.name)
        try:
            owner = await asyncio.to_thread(_owner, path)
        except FileNotFoundError:
            raise NotSignedIn(channel.name, path) from None
        except PermissionError as exc:  # there, but its folder may not be looked into
            raise unreadable(path, exc) from None
        self._owners.setdefault(path, owner)
        source = self._sources.get(channel.name) or token_source(channel, self._config.state_dir)
        assert source is not None  # the channel signs in with OAuth2
        self._sources[channel.name] = source
        return source

    async def close(self) -> None:
        """A refresh rewrote the grant as whoever runs the check (root, often): hand it back
        to the daemon's user, or the service could no longer read its sign-in."""
        for path, owner in self._owners.items():
            await asyncio.to_thread(_give_back, path, owner)


def _owner(path: Path) -> tuple[int, int]:
    st = path.stat()
    return st.st_uid, st.st_gid


def _give_back(path: Path, owner: tuple[int, int]) -> None:
    with contextlib.suppress(OSError):
        if _owner(path) != owner:
            os.chown(path, *owner)
