"""Taking over what an instance gone left (issue 19): its pending replies and the messages it
had not decided yet become this instance's and are queued, at start and at every heartbeat, so
nothing waits for the dead instance to come back."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable

from responder.common.tasks import TaskGroup, cancel
from responder.errors import log_fault
from responder.services.leases import LeaseKeeper
from responder.services.outbox import Outbox
from responder.storage import claims
from responder.storage.store import Store

log = logging.getLogger(__name__)


class Adoption:
    """Every instance adopts, not only the timers' holder: every instance sends and decides
    anyway, a claim is safe however many race for a row (storage.claims), and the orphans
    go to whichever survivor looks first, without waiting for the `scheduler` lease (which
    may have been the dead instance's too) to change hands. An idle beat costs two reads.

    A row is an orphan once its owner's presence lease has run out (`cluster.lease_ttl`
    after a kill -9), at once when that owner is a dead process of this machine or stopped
    cleanly (it released its presence after its replies were sent or recorded)."""

    def __init__(
        self,
        store: Store,
        outbox: Outbox,
        decide: Callable[[int], Awaitable[None]],
        keeper: LeaseKeeper,
        tasks: TaskGroup,
    ) -> None:
        self._store, self._outbox, self._decide = store, outbox, decide
        self._keeper, self._tasks = keeper, tasks
        self._task: asyncio.Task[None] | None = None

    async def take(self) -> tuple[int, list[int]]:
        """Claim every orphan: the replies, queued on the outbox as they come (as a restart
        resumes them); and the ids of the messages, for start() or the caller to queue."""
        dead = self._keeper.gone()
        replies = await self._outbox.resume(dead)
        messages: list[int] = []
        while True:
            batch = await self._store.claim_inbound(dead)
            messages += batch
            if len(batch) < claims.BATCH:
                return replies, messages

    def start(self, first: list[int]) -> None:
        """Queue `first` (what start-up took) to be decided, then adopt at every beat."""
        self._task = self._tasks.spawn(self._run(first), name="adoption")

    async def _run(self, first: list[int]) -> None:
        for inbound_id in first:
            await self._decide(inbound_id)
        failing = False
        while True:
            await asyncio.sleep(self._keeper.beat.total_seconds())
            try:
                replies, messages = await self.take()
            except Exception as exc:
                if not failing:
                    log_fault(log, exc, "cannot look for work left by instances gone")
                failing = True
                continue
            failing = False
            if replies or messages:
                log.warning(
                    "taking over from an instance gone: %d replies to send, %d messages to decide",
                    replies,
                    len(messages),
                )
            for inbound_id in messages:
                await self._decide(inbound_id)

    async def halt(self) -> None:
        """Adopt no more (the daemon stops): what it took is sent or recorded by the stop."""
        task, self._task = self._task, None
        if task is not None:
            await cancel([task])
