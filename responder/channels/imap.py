"""IMAP intake: IDLE push (polling fallback) with a durable (UIDVALIDITY, UID) cursor."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import re
import ssl
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from typing import Any, TypeVar

import aioimaplib

from responder.channels.base import Inbox
from responder.channels.imap_fetch import (
    Fetched,
    external_id,
    fetch_records,
    search_uids,
    select_codes,
    uid_ranges,
)
from responder.config import ImapConfig
from responder.errors import PermanentError, TransientError
from responder.models import Cursor, InboundMessage
from responder.retry import backoff

log = logging.getLogger(__name__)
T = TypeVar("T")

# RFC 2177 asks clients to re-issue IDLE at least every 29 minutes. We renew far sooner: the
# DONE/OK round trip is also how a silently dead connection is noticed.
IDLE_RENEW_SECONDS = 300.0
# How far before the last recorded activity a UIDVALIDITY re-sync looks for mail it missed.
RESYNC_MARGIN = timedelta(minutes=10)
MAX_FETCH_FAILURES = 3


class ImapIntake:
    """One mailbox folder watched for new mail; reconnects forever unless login is refused."""

    def __init__(
        self,
        channel: str,
        config: ImapConfig,
        inbox: Inbox,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self._channel = channel
        self._cfg = config
        self._inbox = inbox
        self._clock = clock
        self._timeout = config.timeout.total_seconds()
        self._lost = asyncio.Event()
        self._client: aioimaplib.IMAP4 | None = None
        self._fetch_failures: dict[int, int] = {}
        self.state = "starting"

    async def run(self) -> None:
        attempt = 0
        while True:
            try:
                await self._session()
            except PermanentError as exc:
                self.state = "failed"
                log.error("channel %s: IMAP stopped: %s", self._channel, exc)
                return
            except Exception as exc:
                # Transient trouble, and also anything unexpected (a database error while
                # recording, a parser surprise): intake must never end silently, so log it
                # and start a fresh session after a pause.
                if not isinstance(exc, TransientError | OSError | aioimaplib.AioImapException):
                    log.exception("channel %s: unexpected error in IMAP intake", self._channel)
                attempt = 1 if self.state == "connected" else attempt + 1
                delay = backoff(attempt, base=1.0, cap=60.0)
                self.state = "reconnecting"
                log.warning(
                    "channel %s: IMAP connection trouble (%s: %s); reconnecting in %.1fs",
                    self._channel,
                    type(exc).__name__,
                    exc or "no detail",
                    delay,
                )
                await asyncio.sleep(delay)
            finally:
                await self._close()

    async def _call(self, awaitable: Awaitable[T], deadline: bool = True) -> T:
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
        await self._call(client.wait_hello_from_server())
        if cfg.password is None:
            raise PermanentError("no IMAP password configured (password_file or password_env)")
        password = cfg.password.get_secret_value()
        response = await self._call(client.login(cfg.username, password))
        if response.result != "OK":
            text = _text(response.lines)
            # RFC 5530 response codes: only wrong credentials (or an account that may not log
            # in) are the admin's to fix; UNAVAILABLE, LIMIT and the like pass.
            error = PermanentError if _code(text) in _PERMANENT_LOGIN else TransientError
            raise error(f"login refused for {cfg.username}: {text}")
        response = await self._call(client.select(cfg.folder))
        if response.result != "OK":
            text = _text(response.lines)
            error = PermanentError if _code(text) == "NONEXISTENT" else TransientError
            raise error(f"cannot open folder {cfg.folder!r}: {text}")
        validity, uidnext = select_codes(response.lines)
        if validity is None:
            raise PermanentError("the server gave no UIDVALIDITY; cannot keep a cursor")
        await self._catch_up(client, validity, uidnext)
        await self._sync(client, validity)
        self.state = "connected"
        use_idle = cfg.idle and client.has_capability("IDLE")
        log.info(
            "channel %s: watching %s with %s",
            self._channel,
            cfg.folder,
            "IDLE" if use_idle else f"polling every {cfg.poll_interval}",
        )
        while True:
            if use_idle:
                await self._idle(client)
            else:
                await self._call(client.noop())
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._lost.wait(), cfg.poll_interval.total_seconds())
            if self._lost.is_set():
                raise TransientError("connection lost")
            await self._sync(client, validity)

    async def _catch_up(self, client: aioimaplib.IMAP4, validity: int, uidnext: int | None) -> None:
        """Set a cursor on the first run or after a UIDVALIDITY change; _sync does the rest."""
        stored = await self._inbox.cursor(self._channel)
        if stored is not None and stored[0].validity == validity:
            return
        top = (uidnext - 1) if uidnext else max(await self._search(client, "ALL"), default=0)
        if stored is None:
            since = self._clock() - self._cfg.backfill if self._cfg.backfill else None
            reason = "first run"
        else:
            # Same mailbox, new UID numbering (RFC 3501 2.3.1.1): look back over the time we
            # may have missed; Message-ID dedupe in the store skips what was answered before.
            since = stored[1] - RESYNC_MARGIN
            reason = f"UIDVALIDITY changed from {stored[0].validity} to {validity}"
        log.info(
            "channel %s: %s; starting after UID %d%s",
            self._channel,
            reason,
            top,
            f", taking mail since {since:%Y-%m-%d %H:%M}" if since else "",
        )
        if since is not None:
            # SEARCH SINCE has day granularity in the server's zone, so ask a day early and
            # filter on INTERNALDATE.
            day = (since - timedelta(days=1)).strftime("%d-%b-%Y")
            uids = [u for u in await self._search(client, "SINCE", day) if u <= top]
            # No cursor moves until every chunk is in: an interrupted catch-up starts over
            # (what it already recorded is deduplicated) instead of leaving a cursor that
            # skips the rest.
            await self._fetch_and_deliver(client, validity, uids, since, move_cursor=False)
        await self._inbox.deliver(self._channel, [], Cursor(validity, top))

    async def _search(self, client: aioimaplib.IMAP4, *criteria: str) -> list[int]:
        response = await self._call(client.uid_search(*criteria, charset=None))
        if response.result != "OK":
            raise TransientError(f"UID SEARCH failed: {_text(response.lines)}")
        return search_uids(response.lines)

    async def _sync(self, client: aioimaplib.IMAP4, validity: int) -> None:
        """Fetch everything past the cursor; search again until nothing is new, because an
        EXISTS that arrives inside a FETCH or SEARCH response is not repeated in IDLE."""
        while True:
            stored = await self._inbox.cursor(self._channel)
            position = stored[0].position if stored else 0
            uids = [
                u for u in await self._search(client, "UID", f"{position + 1}:*") if u > position
            ]
            if not uids:
                return
            await self._fetch_and_deliver(client, validity, uids, None)

    async def _fetch_and_deliver(
        self,
        client: aioimaplib.IMAP4,
        validity: int,
        uids: list[int],
        since: datetime | None,
        move_cursor: bool = True,
    ) -> None:
        # aioimaplib parses a response recursively: a FETCH of ~1000 messages overflows the
        # stack, so fetch in chunks.
        chunk = self._cfg.fetch_chunk
        for start in range(0, len(uids), chunk):
            wanted = uids[start : start + chunk]
            # aioimaplib's own timer for FETCH restarts whenever data arrives.
            response = await self._call(
                client.uid("fetch", uid_ranges(wanted), "(UID INTERNALDATE BODY.PEEK[])"),
                deadline=False,
            )
            if response.result != "OK":
                raise TransientError(f"UID FETCH failed: {_text(response.lines)}")
            got = {r.uid: r for r in fetch_records(response.lines)}
            upto = self._deliverable_upto(wanted, got)
            batch = [
                self._message(got[u], validity)
                for u in wanted
                if u <= upto and u in got and self._wanted_since(got[u], since)
            ]
            cursor = Cursor(validity, upto) if move_cursor else None
            await self._inbox.deliver(self._channel, batch, cursor)
            if upto < wanted[-1]:
                if not move_cursor:
                    raise TransientError(f"UID {upto + 1} did not arrive during catch-up")
                return  # the next search picks up from the gap

    def _deliverable_upto(self, wanted: list[int], got: dict[int, Fetched]) -> int:
        """The highest UID such that every wanted UID up to it arrived (or was given up on)."""
        upto = wanted[0] - 1
        for uid in wanted:
            if uid not in got:
                failures = self._fetch_failures.get(uid, 0) + 1
                self._fetch_failures[uid] = failures
                if failures < MAX_FETCH_FAILURES:
                    break
                log.error(
                    "channel %s: UID %d could not be fetched %d times; skipping it",
                    self._channel,
                    uid,
                    failures,
                )
            upto = uid
        return upto

    @staticmethod
    def _wanted_since(record: Fetched, since: datetime | None) -> bool:
        return since is None or record.internaldate is None or record.internaldate >= since

    def _message(self, record: Fetched, validity: int) -> InboundMessage:
        return InboundMessage(
            channel=self._channel,
            external_id=external_id(record.raw),
            raw=record.raw,
            received_at=record.internaldate or self._clock(),
            cursor=Cursor(validity, record.uid),
        )

    async def _idle(self, client: aioimaplib.IMAP4) -> None:
        idle = await self._call(client.idle_start(timeout=IDLE_RENEW_SECONDS))
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
                if any(b"EXISTS" in line or b"RECENT" in line for line in lines):
                    break
        finally:
            lost.cancel()
        if self._lost.is_set():
            raise TransientError("connection lost during IDLE")
        if client.has_pending_idle():
            client.idle_done()
        await self._call(asyncio.shield(idle))

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


def _text(lines: list[Any]) -> str:
    parts = [bytes(x).decode("utf-8", "replace") for x in lines if isinstance(x, bytes | bytearray)]
    return " ".join(parts)[:300] or "no detail"
