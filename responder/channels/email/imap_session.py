"""One IMAP connection watching one selected folder: login, IDLE or polling, reconnecting."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

import aioimaplib

from responder.channels import health
from responder.channels.base import Inbox
from responder.channels.diagnose import Diagnosis, Endpoint, folder_missing
from responder.channels.email.imap_client import response_text
from responder.channels.email.imap_connection import ImapConnection
from responder.channels.email.imap_fetch import Selected, select_codes
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

log = logging.getLogger(__name__)

# How far before the last recorded activity a UIDVALIDITY re-sync looks for what it missed.
RESYNC_MARGIN = timedelta(minutes=10)


class ImapSession(ImapConnection):
    """Subclasses say what to do once the folder is selected (`_prepare`) and after each
    wake-up (`_sync`); an IMAP connection can IDLE on one folder only (RFC 2177), so every
    watched folder gets its own session. Reconnects forever: with backoff after a passing
    fault, every health.SLOW_RETRY seconds after one only the admin can fix (a refused
    password, a missing folder), which `condition` then reports as failed. While a sign-in
    is refused, one connection of the channel tries for all of them (`gate`)."""

    def __init__(
        self,
        channel: str,
        config: ImapConfig,
        inbox: Inbox,
        folder: str,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        super().__init__(config)
        self._channel = channel
        self._inbox = inbox
        self._folder = folder
        self._clock = clock
        # Log lines name the folder unless it is the channel's main one.
        self._label = channel if folder == config.folder else f"{channel}/{folder}"
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

    # -- watching ---------------------------------------------------------------------------

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

    async def _session(self) -> None:
        cfg = self._cfg
        client = await self._connect()
        await self._sign_in(client)
        self.gate.passed()  # the connections waiting for a sign-in that works go now
        params = await self._enable(client)
        await self._resolve_folder(client)
        # Quoted and in modified UTF-7 (RFC 3501 5.1.3): "Sent Items", "[Gmail]/Sent Mail".
        response = await self.call(client.select(f"{wire(self._folder)}{params}"))
        if response.result != "OK":
            await self._missing_folder(client)
            raise TransientError(
                f"cannot open folder {self._folder!r}: {response_text(response.lines)}"
            )
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
                    # Not wait_for, which may lose the stop's cancellation (services.leases).
                    async with asyncio.timeout(cfg.poll_interval.total_seconds()):
                        await self._lost.wait()
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

    async def new_uids(self, client: aioimaplib.IMAP4, key: str) -> list[int]:
        """The UIDs past the cursor under `key` (a server answers "n:*" with at least the
        last message even when n is past it, so filter)."""
        stored = await self._inbox.cursor(key)
        position = stored[0].position if stored else 0
        return [u for u in await self.search(client, "UID", f"{position + 1}:*") if u > position]
