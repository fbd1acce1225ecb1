"""Group commit of send outcomes: the next reply goes out while the last one is recorded."""

from __future__ import annotations

import asyncio
import contextlib
import logging

from responder.common.retry import STORAGE_RETRY_CAP, backoff
from responder.domain.records import ReplyMark
from responder.errors import log_fault
from responder.storage.store import Store

log = logging.getLogger(__name__)

# How many sent-but-unrecorded replies each sender may run ahead by. This is the crash window
# the README describes: a reply the SMTP server took whose mark was not yet committed is sent
# again (same Message-ID) after a crash. One overlaps the SMTP round trips of the next reply
# with the commit of the last; with each sender also holding the mark of a reply just
# accepted, at most two per sender are unrecorded at any moment.
AHEAD_PER_SENDER = 1
# A commit the database refused is tried again soon: until it is in, the senders wait (a
# reply recorded `pending` but sent would go again at the next start), so every second
# counts. While shutting down, tries come at this interval.
RETRY_BASE, HURRIED = 0.05, 0.2


class Recorder:
    """Commits marks in order, as many per transaction as have piled up.

    A refused commit is never dropped: it is tried again, with whatever piled up meanwhile,
    until the database takes it, the fault logged once (issue 13: a dropped `sent` mark left
    the reply pending, and the next start sent it a second time).
    """

    def __init__(self, store: Store, ahead: int = AHEAD_PER_SENDER) -> None:
        self._store = store
        self.ahead = ahead
        self._pending: list[ReplyMark] = []
        self._refused: list[ReplyMark] = []  # a batch the database refused, to try again
        self._committing = 0
        self._changed = asyncio.Condition()
        self._hurry = asyncio.Event()

    async def record(self, mark: ReplyMark) -> None:
        """Queue a mark; return once at most `ahead` marks (this one included) are uncommitted."""
        async with self._changed:
            self._pending.append(mark)
            self._changed.notify_all()
            await self._changed.wait_for(lambda: self._unrecorded() <= self.ahead)

    async def flushed(self) -> None:
        """Wait until every mark is committed; a refused commit is retried without waiting
        out its backoff (the caller has a deadline)."""
        self._hurry.set()
        async with self._changed:
            await self._changed.wait_for(lambda: self._unrecorded() == 0)

    def _unrecorded(self) -> int:
        return len(self._pending) + self._committing

    async def run(self) -> None:
        failures, fault = 0, ""
        while True:
            async with self._changed:
                await self._changed.wait_for(lambda: bool(self._pending or self._refused))
                # Marks that came after a refused batch join it, behind it: order is kept.
                batch = self._refused + self._pending
                self._pending, self._refused = [], []
                self._committing = len(batch)
            try:
                await self._store.mark_replies(batch)
            except Exception as exc:
                failures += 1
                cause = f"{type(exc).__name__}: {exc}".splitlines()[0]
                if cause != fault:  # once per fault, not once per try
                    fault = cause
                    log_fault(
                        log,
                        exc,
                        "could not record %d send outcomes; trying again until the "
                        "database takes them (sending waits meanwhile)",
                        len(batch),
                    )
                self._refused = batch
                await self._pause(backoff(failures, RETRY_BASE, STORAGE_RETRY_CAP))
                continue
            if failures:
                log.info("recorded %d send outcomes after %d refused tries", len(batch), failures)
                failures, fault = 0, ""
            async with self._changed:
                self._committing = 0
                self._changed.notify_all()

    async def _pause(self, delay: float) -> None:
        if self._hurry.is_set():
            await asyncio.sleep(min(delay, HURRIED))
            return
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(delay):  # not wait_for: see services.leases
                await self._hurry.wait()
