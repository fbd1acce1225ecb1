"""The Inbox given to channels: records what arrives, then queues it for deciding."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import secrets
from collections.abc import Sequence
from datetime import datetime

from responder.common.membudget import MAIL_BUDGET, MailBytes
from responder.common.metrics import Metrics
from responder.domain.models import (
    ChatEntry,
    Cursor,
    DeliveryReport,
    FileData,
    InboundMessage,
    MailMark,
)
from responder.storage.store import Store

log = logging.getLogger(__name__)


class StoreInbox:
    def __init__(
        self,
        store: Store,
        queue: asyncio.Queue[int],
        *,
        budget: MailBytes | None = None,
        metrics: Metrics | None = None,
    ) -> None:
        self._store = store
        self._queue = queue
        self._budget = budget or MailBytes(MAIL_BUDGET)
        self._metrics = metrics or Metrics()

    async def cursor(self, key: str) -> tuple[Cursor, datetime] | None:
        return await self._store.cursor(key)

    async def deliver(
        self,
        channel: str,
        messages: Sequence[InboundMessage],
        cursor: Cursor | None,
        key: str | None = None,
    ) -> None:
        # Recorded (and the cursor moved) before queueing: a crash after this line loses
        # nothing, because start-up queues every message still in state "new".
        ids = await self._store.record_inbound(channel, messages, cursor, key)
        if ids:  # only new rows: a message seen before is not received twice
            self._metrics.message_received(channel, len(ids))
        for inbound_id in ids:
            await self._queue.put(inbound_id)

    async def first_started(self, key: str) -> tuple[datetime, bool]:
        """When intake under `key` was first started (recorded on the first call, before the
        first login), and whether this call recorded it."""
        return await self._store.first_started(key)

    def holding(self, nbytes: int) -> contextlib.AbstractAsyncContextManager[None]:
        """Hold `nbytes` of mail in memory under the process's budget."""
        return self._budget.hold(nbytes)

    async def mark(
        self, channel: str, marks: Sequence[MailMark], key: str, cursor: Cursor | None
    ) -> None:
        await self._store.record_marks(channel, marks, key, cursor)

    async def delivery(self, channel: str, reports: Sequence[DeliveryReport]) -> None:
        if not reports:
            return
        recorded = await self._store.record_delivery(channel, reports)
        if recorded.unknown:
            # Replies sent before this database, purged ones, or another app's on the same
            # number: nothing of ours to update, and nothing an admin need see.
            log.debug(
                "channel %s: delivery reports for %d message(s) not among our replies: %s",
                channel,
                len(recorded.unknown),
                ", ".join(recorded.unknown[:5]),
            )

    async def conversation(
        self,
        channel: str,
        customer: str,
        recipient: str,
        since: datetime | None = None,
        limit: int = 200,
    ) -> list[ChatEntry]:
        return await self._store.conversation(channel, f"{customer}/", recipient, since, limit)

    async def recorded(self, channel: str, external_id: str) -> ChatEntry | None:
        return await self._store.recorded(channel, external_id)

    async def keep_file(self, channel: str, visitor: str, key: str, file: FileData) -> bool:
        return await self._store.keep_chat_file(channel, visitor, key, file)

    async def kept_file(self, channel: str, visitor: str, key: str) -> FileData | None:
        return await self._store.chat_file(channel, visitor, key)

    async def secret(self, key: str) -> bytes:
        # Made at the first call, kept in the database with what it signs (like the survey
        # secret): a restart, or a second daemon on a copy, checks the same signatures.
        return bytes.fromhex(await self._store.kept_secret(key, secrets.token_hex(32)))
