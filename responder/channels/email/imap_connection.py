"""One IMAP connection's commands: connecting, signing in, deadlines, IDLE, logging out."""

from __future__ import annotations

import asyncio
import re
import ssl
from collections.abc import Awaitable, Sequence
from typing import TYPE_CHECKING, Any, TypeVar

import aioimaplib

from responder.channels.email.imap_client import IMAP4, response_text
from responder.channels.email.imap_fetch import search_uids
from responder.config import ImapConfig
from responder.errors import PermanentError, SignInRefused, TransientError

if TYPE_CHECKING:
    from responder.channels.oauth.tokens import TokenSource

T = TypeVar("T")

# RFC 2177 asks clients to re-issue IDLE at least every 29 minutes. We renew far sooner: the
# DONE/OK round trip is also how a silently dead connection is noticed.
IDLE_RENEW_SECONDS = 300.0
# New mail (RFC 3501 7.3.1 EXISTS/RECENT) wakes every watcher.
_NEW_MAIL = re.compile(rb"^\d+ (EXISTS|RECENT)\b")


class ImapConnection:
    """The commands of one connection at a time (ImapSession opens a fresh one after each
    fault): each fails fast once the connection is lost, and IDLE ends when `_wakes` says."""

    # The channel's access tokens when imap.auth is oauth2; set by the channel (EmailChannel).
    tokens: TokenSource | None = None

    def __init__(self, config: ImapConfig) -> None:
        self._cfg = config
        self._timeout = config.timeout.total_seconds()
        self._lost = asyncio.Event()
        self._client: aioimaplib.IMAP4 | None = None

    def _wakes(self, lines: Sequence[bytes]) -> bool:
        """Whether an untagged response pushed during IDLE calls for a sync."""
        return any(_NEW_MAIL.match(line) for line in lines)

    async def call(self, awaitable: Awaitable[T], deadline: bool = True) -> T:
        """Every command fails fast when the connection is gone, and gets a deadline unless
        the library already times it out on silence (FETCH: a large answer may take long)."""
        task = asyncio.ensure_future(awaitable)
        lost = asyncio.ensure_future(self._lost.wait())
        try:
            done, _ = await asyncio.wait(
                {task, lost},
                timeout=self._timeout if deadline else None,
                return_when=asyncio.FIRST_COMPLETED,
            )
        finally:
            lost.cancel()
        if task in done:
            return task.result()
        task.cancel()
        if lost in done:
            raise TransientError("connection lost")
        raise TransientError(f"no answer within {self._timeout:.0f}s")

    async def _connect(self) -> aioimaplib.IMAP4:
        """A new connection that has greeted us, not yet signed in."""
        cfg = self._cfg
        # A fresh event per session: a late connection_lost from the previous (closed)
        # connection must not tear down this one.
        lost = self._lost = asyncio.Event()
        context = ssl.create_default_context() if cfg.security == "tls" else None
        client = IMAP4(
            host=cfg.host,
            port=cfg.port,
            timeout=self._timeout,
            conn_lost_cb=lambda _exc: lost.set(),
            ssl_context=context,
        )
        self._client = client
        await self.call(client.wait_hello_from_server())
        return client

    async def _sign_in(self, client: aioimaplib.IMAP4) -> None:
        cfg = self._cfg
        if cfg.auth == "oauth2":
            # Loaded here: only a channel that signs in with OAuth2 pays for it.
            from responder.channels.oauth.sasl import imap_xoauth2

            await imap_xoauth2(client, cfg.username, self.tokens, self.call, cfg.host)
        elif cfg.password is None:
            raise PermanentError("no IMAP password configured (password_file or password_env)")
        else:
            password = cfg.password.get_secret_value()
            response = await self.call(client.login(cfg.username, password))
            if response.result != "OK":
                text = response_text(response.lines)
                error = TransientError if passing_refusal(text) else SignInRefused
                raise error(f"login refused for {cfg.username}: {text}")

    async def search(self, client: aioimaplib.IMAP4, *criteria: str) -> list[int]:
        response = await self.call(client.uid_search(*criteria, charset=None))
        if response.result != "OK":
            raise TransientError(f"UID SEARCH failed: {response_text(response.lines)}")
        return search_uids(response.lines)

    async def _idle(self, client: aioimaplib.IMAP4) -> None:
        idle = await self.call(client.idle_start(timeout=IDLE_RENEW_SECONDS))
        lost = asyncio.ensure_future(self._lost.wait())
        try:
            while True:
                push = asyncio.ensure_future(client.wait_server_push(IDLE_RENEW_SECONDS + 30))
                done, _ = await asyncio.wait(
                    {push, lost, idle}, return_when=asyncio.FIRST_COMPLETED
                )
                if push not in done:
                    push.cancel()
                    break
                if push.exception() is not None:
                    break  # no word from the server for a while: renew to prove it is there
                lines = push.result()
                if lines == aioimaplib.STOP_WAIT_SERVER_PUSH:
                    break  # renewal time
                if self._wakes([x for x in lines if isinstance(x, bytes)]):
                    break
        finally:
            lost.cancel()
        if self._lost.is_set():
            raise TransientError("connection lost during IDLE")
        if client.has_pending_idle():
            client.idle_done()
        await self.call(asyncio.shield(idle))

    async def _close(self) -> None:
        client, self._client = self._client, None
        if client is None:
            return
        try:
            if not self._lost.is_set() and client.get_state() in ("AUTH", "SELECTED"):
                if client.has_pending_idle():
                    client.idle_done()  # LOGOUT would otherwise wait behind the open IDLE
                async with asyncio.timeout(2.0):
                    await client.logout()
        except Exception:
            pass
        transport: Any = getattr(client.protocol, "transport", None)
        if transport is not None:
            transport.close()


# RFC 5530 codes of a sign-in refused for a passing reason. Any other NO to LOGIN is the
# credentials' to fix, with another code or none at all: Microsoft 365 and many servers
# answer a wrong password with a bare "NO LOGIN failed."
_PASSING_LOGIN = frozenset({"UNAVAILABLE", "INUSE", "LIMIT", "SERVERBUG", "CONTACTADMIN"})


def passing_refusal(text: str) -> bool:
    """Whether a refused LOGIN says to try again later rather than to fix the password."""
    return _code(text) in _PASSING_LOGIN


def _code(text: str) -> str:
    """The bracketed response code at the start of a status text (RFC 5530), if any."""
    match = re.search(r"\[([A-Z-]+)", text)
    return match.group(1) if match else ""
