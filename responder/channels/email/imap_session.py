"""One IMAP connection watching one selected folder: login, IDLE or polling, reconnecting."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import re
import ssl
from collections.abc import Awaitable, Callable, Sequence
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any, TypeVar

import aioimaplib

from responder.channels import health
from responder.channels.base import Inbox
from responder.channels.diagnose import Diagnosis, Endpoint, folder_missing
from responder.channels.email.imap_client import IMAP4
from responder.channels.email.imap_fetch import Selected, search_uids, select_codes
from responder.channels.email.imap_folders import meant, parse_list, wire
from responder.channels.email.sign_in_gate import SignInGate
from responder.channels.health import Condition
from responder.common.retry import STORAGE_RETRY_CAP, backoff
from responder.config import ImapConfig
from responder.errors import (
    ChannelError,
    PermanentError,
    SignInRefused,
    StorageUnavailable,
    TransientError,
)

if TYPE_CHECKING:
    from responder.channels.oauth.tokens import TokenSource

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
    watched folder gets its own session. Reconnects forever: with backoff after a passing
    fault, every health.SLOW_RETRY seconds after one only the admin can fix (a refused
    password, a missing folder), which `condition` then reports as failed. While a sign-in
    is refused, one connection of the channel tries for all of them (`gate`)."""

    # The channel's access tokens when imap.auth is oauth2; set by the channel (EmailChannel).
    tokens: TokenSource | None = None

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
        # Shared by the channel's connections (EmailChannel): one signs in while refused.
        self.gate = SignInGate()
        # The channel may say more about where this is set (its provider); see EmailChannel.
        self.condition = Condition(
            Endpoint(channel, "imap", config.host, config.port, config.username, "imap"),
            clock=clock,
        )

    @property
    def state(self) -> str:
        return self.condition.state

    @property
    def folder(self) -> str:
        return self._folder

    # -- what a subclass does -----------------------------------------------------------

    async def _enable(self, client: aioimaplib.IMAP4) -> str:
        """Run before SELECT (extensions to ENABLE); returns extra SELECT parameters."""
        return ""

    async def _resolve_folder(self, client: aioimaplib.IMAP4) -> None:
        """Run before SELECT: settle which folder `folder` names (sent_folder: auto)."""

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
            await self._turn()
            try:
                await self._session()
            except StorageUnavailable as exc:
                # Not the mail server's fault: say what it is, and try again soon, since a
                # full disk is often cleared in seconds (issue 13). The cursor did not move,
                # so the same mail is fetched again.
                attempt = 1 if self.state == "connected" else attempt + 1
                delay = backoff(attempt, base=1.0, cap=STORAGE_RETRY_CAP)
                self.condition.trouble(Diagnosis(f"cannot record mail: {exc}", "", "", False))
                log.warning(
                    "channel %s: cannot record mail: %s; trying again in %.1fs",
                    self._label,
                    exc,
                    delay,
                )
                await asyncio.sleep(delay)
            except Exception as exc:
                # Intake never ends: anything unexpected (a parser surprise) is logged with
                # its traceback, as the bug it is, and a fresh session starts after a pause.
                if not isinstance(exc, ChannelError | OSError | aioimaplib.AioImapException):
                    log.exception("channel %s: unexpected error in IMAP intake", self._label)
                was = self.state
                problem = self.condition.failed(exc)
                if isinstance(exc, SignInRefused):
                    self.gate.refused(self, exc)
                if problem.permanent:
                    # Said once (and hourly) by the composition root's ChannelWatch, with
                    # the config's key; each slow retry is detail.
                    delay = health.SLOW_RETRY
                    log.debug("channel %s: %s; trying again in %.0fs", self._label, problem, delay)
                else:
                    attempt = 1 if was == "connected" else attempt + 1
                    delay = backoff(attempt, base=1.0, cap=60.0)
                    log.warning(
                        "channel %s: %s; reconnecting in %.1fs", self._label, problem, delay
                    )
                await asyncio.sleep(delay)
            finally:
                await self._close()

    async def _turn(self) -> None:
        """Wait while another connection of the channel signs in for all (see SignInGate);
        meanwhile this one shows the refusal too, so the channel's health names it."""
        while not self.gate.may_try(self):
            if self.gate.refusal is not None:
                self.condition.failed(self.gate.refusal)
            await self.gate.outcome()

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
        client = IMAP4(
            host=cfg.host,
            port=cfg.port,
            timeout=self._timeout,
            conn_lost_cb=lambda _exc: lost.set(),
            ssl_context=context,
        )
        self._client = client
        await self.call(client.wait_hello_from_server())
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
                text = _text(response.lines)
                error = TransientError if passing_refusal(text) else SignInRefused
                raise error(f"login refused for {cfg.username}: {text}")
        self.gate.passed()  # the connections waiting for a sign-in that works go now
        params = await self._enable(client)
        await self._resolve_folder(client)
        # Quoted and in modified UTF-7 (RFC 3501 5.1.3): "Sent Items", "[Gmail]/Sent Mail".
        response = await self.call(client.select(f"{wire(self._folder)}{params}"))
        if response.result != "OK":
            await self._missing_folder(client)
            raise TransientError(f"cannot open folder {self._folder!r}: {_text(response.lines)}")
        selected = select_codes(response.lines)
        if selected.validity is None:
            raise PermanentError("the server gave no UIDVALIDITY; cannot keep a cursor")
        validity = selected.validity
        await self._prepare(client, selected)
        await self._sync(client, validity)
        self.condition.connected()
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

    async def _missing_folder(self, client: aioimaplib.IMAP4) -> None:
        """Raise the admin's diagnosis if the folder SELECT refused is not in the mailbox.

        Asked of LIST (RFC 3501 6.3.8) rather than read from the refusal: RFC 5530's
        NONEXISTENT code is optional, and Dovecot, for one, answers a bare NO."""
        response = await self.call(client.list('""', '"*"'))
        if response.result != "OK":
            return
        boxes = parse_list(response.lines)
        names = {box.name for box in boxes}
        wanted = self._folder
        if wanted in names or (wanted.upper() == "INBOX" and "INBOX" in map(str.upper, names)):
            return  # there, yet refused: a passing fault
        cfg = self._cfg
        setting = {cfg.sent_folder: "sent_folder", cfg.done_folder: "done_folder"}.get(wanted)
        key = f"imap.{setting or 'folder'}"
        marked, similar = meant(wanted, key, boxes)
        raise folder_missing(self.condition.at, wanted, key, marked_sent=marked, similar=similar)

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


def _text(lines: list[Any]) -> str:
    parts = [bytes(x).decode("utf-8", "replace") for x in lines if isinstance(x, bytes | bytearray)]
    return " ".join(parts)[:300] or "no detail"
