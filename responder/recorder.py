"""Group commit of send outcomes: the next reply goes out while the last one is recorded."""

from __future__ import annotations

import asyncio
import logging

from responder.storage.records import ReplyMark
from responder.storage.store import Store

log = logging.getLogger(__name__)

# How many sent-but-unrecorded replies each sender may run ahead by. This is the crash window
# the README describes: a reply the SMTP server took whose mark was not yet committed is sent
# again (same Message-ID) after a crash. One overlaps the SMTP round trips of the next reply
# with the commit of the last; with each sender also holding the mark of a reply just
# accepted, at most two per sender are unrecorded at any moment.
AHEAD_PER_SENDER = 1


class Recorder:
    """Commits marks in order, as many per transaction as have piled up."""

    def __init__(self, store: Store, ahead: int = AHEAD_PER_SENDER) -> None:
        self._store = store
        self.ahead = ahead
        self._pending: list[ReplyMark] = []
        self._committing = 0
        self._changed = asyncio.Condition()

    async def record(self, mark: ReplyMark) -> None:
        """Queue a mark; return once at most `ahead` marks (this one included) are uncommitted."""
        async with self._changed:
            self._pending.append(mark)
            self._changed.notify_all()
            await self._changed.wait_for(lambda: self._unrecorded() <= self.ahead)

    async def flushed(self) -> None:
        async with self._changed:
            await self._changed.wait_for(lambda: self._unrecorded() == 0)

    def _unrecorded(self) -> int:
        return len(self._pending) + self._committing

    async def run(self) -> None:
        while True:
            async with self._changed:
                await self._changed.wait_for(lambda: bool(self._pending))
                batch, self._pending = self._pending, []
                self._committing = len(batch)
            try:
                await self._store.mark_replies(batch)
            except Exception:
                # Not recorded: the replies stay pending in the database and are sent again
                # (same Message-ID) at the next start. Nothing is silently lost.
                log.exception("could not record %d send outcomes", len(batch))
            async with self._changed:
                self._committing = 0
                self._changed.notify_all()
