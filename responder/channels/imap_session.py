"""One IMAP connection watching one selected folder: login, IDLE or polling, reconnecting."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import re
import ssl
from collections.abc import Awaitable, Callable, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any, TypeVar

import aioimaplib

from responder.channels.base import Inbox
from responder.channels.imap_fetch import Selected, search_uids, select_codes
from responder.config import ImapConfig
from responder.errors import PermanentError, StorageUnavailable, TransientError
from responder.retry import STORAGE_RETRY_CAP, backoff

log = logging.getLogger(__name__)
T = TypeVar("T")

# RFC 2177 asks clients to re-issue IDLE at least every 29 minutes. We renew far sooner: the
# DONE/OK round trip is also how a silently dead connection is noticed.
IDLE_RENEW_SECONDS = 300.0
# How far before the last recorded activity a UIDVALIDITY re-sync looks for what it missed.
RESYNC_MARGIN = timedelta(minutes=10)
# New mail (RFC 3501 7.3.1 EXISTS/RECENT) wakes every watcher.
_NEW_MAIL = re.compile(rb"^\d+ (EXISTS|RECENT)\b")


class ImapSession:
    """Subclasses say what to do once the folder is selected (`_prepare`) and after each
    wake-up (`_sync`); an IMAP connection can IDLE on one folder only (RFC 2177), so every
    watched folder gets its own session. Reconnects forever unless login is refused."""

    def __init__(
        self,
        channel: str,
        config: ImapConfig,
        inbox: Inbox,
        folder: str,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self._channel = channel
        self._cfg = config
        self._inbox = inbox
        self._folder = folder
        self._clock = clock
        # Log lines name the folder unless it is the channel's main one.
        self._label = channel if folder == config.folder else f"{channel}/{folder}"
        self._timeout = config.timeout.total_seconds()
        self._lost = asyncio.Event()
        self._client: aioimaplib.IMAP4 | None = None
        self.state = "starting"

    @property
    def folder(self) -> str:
        return self._folder

    # -- what a subclass does -----------------------------------------------------------

    async def _enable(self, client: aioimaplib.IMAP4) -> str:
        """Run before SELECT (extensions to ENABLE); returns extra SELECT parameters."""
        return ""

    async def _prepare(self, client: aioimaplib.IMAP4, selected: Selected) -> None:
        """Set cursors on the first run or after a UIDVALIDITY change."""

    async def _sync(self, client: aioimaplib.IMAP4, validity: int) -> None:
        raise NotImplementedError

    def _wakes(self, lines: Sequence[bytes]) -> bool:
        """Whether an untagged response pushed during IDLE calls for a sync."""
        return any(_NEW_MAIL.match(line) for line in lines)

    # -- the connection ---------------------------------------------------------------------

    async def run(self) -> None:
        attempt = 0
        while True:
            try:
                await self._session()
            except PermanentError as exc:
                self.state = "failed"
                log.error("channel %s: IMAP stopped (%s): %s", self._label, self._server, exc)
                return
            except StorageUnavailable as exc:
                # Not the mail server's fault: say what it is, and try again soon, since a
                # full disk is often cleared in seconds (issue 13). The cursor did not move,
                # so the same mail is fetched again.
                attempt = 1 if self.state == "connected" else attempt + 1
                delay = backoff(attempt, base=1.0, cap=STORAGE_RETRY_CAP)
                self.state = "reconnecting"
                log.warning(
                    "channel %s: cannot record mail: %s; trying again in %.1fs",
                    self._label,
                    exc,
                    delay,
                )
                await asyncio.sleep(delay)
            except Exception as exc:
                # Transient trouble, and also anything unexpected (a parser surprise):
                # intake must never end silently, so log it and start a fresh session after
                # a pause. Only a bug gets a traceback.
                if not isinstance(exc, TransientError | OSError | aioimaplib.AioImapException):
                    log.exception("channel %s: unexpected error in IMAP intake", self._label)
                attempt = 1 if self.state == "connected" else attempt + 1
                delay = backoff(attempt, base=1.0, cap=60.0)
                self.state = "reconnecting"
                log.warning(
                    "channel %s: IMAP server %s: %s; reconnecting in %.1fs",
                    self._label,
                    self._server,
                    _describe(exc),
                    delay,
                )
                await asyncio.sleep(delay)
            finally:
                await self._close()

    @property
    def _server(self) -> str:
        return f"{self._cfg.host}:{self._cfg.port}"

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

    async def _session(self) -> None:
        cfg = self._cfg
        # A fresh event per session: a late connection_lost from the previous (closed)
        # connection must not tear down this one.
        lost = self._lost = asyncio.Event()
        context = ssl.create_default_context() if cfg.security == "tls" else None
        client = aioimaplib.IMAP4(
            host=cfg.host,
            port=cfg.port,
            timeout=self._timeout,
            conn_lost_cb=lambda _exc: lost.set(),
            ssl_context=context,
        )
        self._client = client
        await self.call(client.wait_hello_from_server())
        if cfg.password is None:
            raise PermanentError("no IMAP password configured (password_file or password_env)")
        password = cfg.password.get_secret_value()
        response = await self.call(client.login(cfg.username, password))
        if response.result != "OK":
            text = _text(response.lines)
            # RFC 5530 response codes: only wrong credentials (or an account that may not log
            # in) are the admin's to fix; UNAVAILABLE, LIMIT and the like pass.
            error = PermanentError if _code(text) in _PERMANENT_LOGIN else TransientError
            raise error(f"login refused for {cfg.username}: {text}")
        params = await self._enable(client)
        response = await self.call(client.select(f"{self._folder}{params}"))
        if response.result != "OK":
            text = _text(response.lines)
            error = PermanentError if _code(text) == "NONEXISTENT" else TransientError
            raise error(f"cannot open folder {self._folder!r}: {text}")
        selected = select_codes(response.lines)
        if selected.validity is None:
            raise PermanentError("the server gave no UIDVALIDITY; cannot keep a cursor")
        validity = selected.validity
        await self._prepare(client, selected)
        await self._sync(client, validity)
        self.state = "connected"
        use_idle = cfg.idle and client.has_capability("IDLE")
        log.info(
            "channel %s: watching %s with %s",
            self._label,
            self._folder,
            "IDLE" if use_idle else f"polling every {cfg.poll_interval}",
        )
        while True:
            if use_idle:
                await self._idle(client)
            else:
                await self.call(client.noop())
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._lost.wait(), cfg.poll_interval.total_seconds())
            if self._lost.is_set():
                raise TransientError("connection lost")
            await self._sync(client, validity)

    async def search(self, client: aioimaplib.IMAP4, *criteria: str) -> list[int]:
        response = await self.call(client.uid_search(*criteria, charset=None))
        if response.result != "OK":
            raise TransientError(f"UID SEARCH failed: {_text(response.lines)}")
        return search_uids(response.lines)

    async def new_uids(self, client: aioimaplib.IMAP4, key: str) -> list[int]:
        """The UIDs past the cursor under `key` (a server answers "n:*" with at least the
        last message even when n is past it, so filter)."""
        stored = await self._inbox.cursor(key)
        position = stored[0].position if stored else 0
        return [u for u in await self.search(client, "UID", f"{position + 1}:*") if u > position]

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
                await asyncio.wait_for(client.logout(), 2.0)
        except Exception:
            pass
        transport: Any = getattr(client.protocol, "transport", None)
        if transport is not None:
            transport.close()


_PERMANENT_LOGIN = frozenset({"AUTHENTICATIONFAILED", "AUTHORIZATIONFAILED", "EXPIRED"})


def _code(text: str) -> str:
    """The bracketed response code at the start of a status text (RFC 5530), if any."""
    match = re.search(r"\[([A-Z-]+)", text)
    return match.group(1) if match else ""


def _describe(exc: BaseException) -> str:
    """An error as an admin reads it: "connection refused", not "[Errno 111] Connect call
    failed ('127.0.0.1', 1143)"."""
    if isinstance(exc, OSError) and exc.strerror:
        return exc.strerror.lower()
    if isinstance(exc, TransientError | PermanentError):
        return str(exc) or type(exc).__name__
    return f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__


def _text(lines: list[Any]) -> str:
    parts = [bytes(x).decode("utf-8", "replace") for x in lines if isinstance(x, bytes | bytearray)]
    return " ".join(parts)[:300] or "no detail"
