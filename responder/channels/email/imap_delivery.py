"""Fetching a folder's mail by UID, whole and in order, in chunks the memory budget allows."""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import datetime

import aioimaplib

from responder.channels.base import Inbox
from responder.channels.email.imap_client import response_text
from responder.channels.email.imap_connection import ImapConnection
from responder.channels.email.imap_fetch import (
    Fetched,
    Sized,
    external_id,
    fetch_records,
    size_records,
    uid_ranges,
)
from responder.common.membudget import byte_chunks
from responder.config import ImapConfig
from responder.domain.models import Cursor, InboundMessage
from responder.errors import TransientError

# Under the intake's name, as these lines were logged before delivery had a module of its own:
# the name is in every log line, and admins filter on it.
log = logging.getLogger("responder.channels.email.imap")

# A burst is fetched 10 mails first, then 20, 40... up to fetch_chunk: the first answers go
# out while the rest is still being fetched, and a backlog soon moves in full chunks.
FIRST_FETCH = 10

MAX_FETCH_FAILURES = 3


class ChunkedDelivery:
    """Part of one folder's intake: the UIDs it is given, fetched and handed to the inbox under
    the folder's cursor `key`. A UID that does not arrive is asked for again, and skipped
    after MAX_FETCH_FAILURES fetches."""

    def __init__(
        self,
        connection: ImapConnection,
        channel: str,
        config: ImapConfig,
        inbox: Inbox,
        key: str,
        label: str,
        clock: Callable[[], datetime],
    ) -> None:
        self._connection = connection
        self._channel = channel
        self._cfg = config
        self._inbox = inbox
        self._key = key
        self._label = label  # the folder as log lines name it
        self._clock = clock
        self._fetch_failures: dict[int, int] = {}

    async def deliver(
        self,
        client: aioimaplib.IMAP4,
        validity: int,
        uids: list[int],
        since: datetime | None,
        move_cursor: bool = True,
    ) -> None:
        """Deliver `uids` (those received since `since`) in order, in chunks of at most
        fetch_chunk messages and fetch_bytes bytes: memory follows the budget, not the backlog."""
        sizes = await self._sizes(client, uids, since)
        size = dict(sizes)
        cfg = self._cfg
        for wanted in byte_chunks(sizes, cfg.fetch_bytes, cfg.fetch_chunk, FIRST_FETCH):
            async with self._inbox.holding(sum(size[u] for u in wanted)):
                upto = await self._fetch_chunk(client, validity, wanted, since, move_cursor)
            if upto < wanted[-1]:
                if not move_cursor:
                    raise TransientError(f"UID {upto + 1} did not arrive during catch-up")
                return  # the next search picks up from the gap

    async def _sizes(
        self, client: aioimaplib.IMAP4, uids: list[int], since: datetime | None
    ) -> list[tuple[int, int]]:
        """(UID, RFC822.SIZE) of each wanted message before any body is fetched (RFC 3501
        6.4.5), less those the server received before `since` (INTERNALDATE)."""
        known: dict[int, Sized] = {}
        step = self._cfg.fetch_chunk
        for start in range(0, len(uids), step):
            ranges = uid_ranges(uids[start : start + step])
            response = await self._connection.call(
                client.uid("fetch", ranges, "(UID RFC822.SIZE INTERNALDATE)")
            )
            if response.result != "OK":
                raise TransientError(f"UID FETCH of sizes failed: {response_text(response.lines)}")
            known.update((r.uid, r) for r in size_records(response.lines))
        # A UID missing here (expunged meanwhile) is still asked for with the bodies, and
        # given up on the way a body that does not come is.
        return [
            (uid, record.size if record else 0)
            for uid in uids
            if (record := known.get(uid)) is None or self._wanted_since(record, since)
        ]

    async def _fetch_chunk(
        self,
        client: aioimaplib.IMAP4,
        validity: int,
        wanted: list[int],
        since: datetime | None,
        move_cursor: bool,
    ) -> int:
        """Fetch and deliver one chunk; returns the UID up to which all of it arrived. A
        method of its own, so the chunk's bytes are let go before the next is fetched."""
        # aioimaplib's own timer for FETCH restarts whenever data arrives.
        response = await self._connection.call(
            client.uid("fetch", uid_ranges(wanted), "(UID INTERNALDATE BODY.PEEK[])"),
            deadline=False,
        )
        if response.result != "OK":
            raise TransientError(f"UID FETCH failed: {response_text(response.lines)}")
        got = {r.uid: r for r in fetch_records(response.lines)}
        del response
        upto = self._deliverable_upto(wanted, got)
        batch = [
            self._message(got[u], validity)
            for u in wanted
            if u <= upto and u in got and self._wanted_since(got[u], since)
        ]
        del got
        cursor = Cursor(validity, upto) if move_cursor else None
        await self._inbox.deliver(self._channel, batch, cursor, self._key)
        return upto

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
                    self._label,
                    uid,
                    failures,
                )
            upto = uid
        return upto

    @staticmethod
    def _wanted_since(record: Fetched | Sized, since: datetime | None) -> bool:
        return since is None or record.internaldate is None or record.internaldate >= since

    def _message(self, record: Fetched, validity: int) -> InboundMessage:
        return InboundMessage(
            channel=self._channel,
            external_id=external_id(record.raw),
            raw=record.raw,
            received_at=record.internaldate or self._clock(),
            cursor=Cursor(validity, record.uid),
        )
