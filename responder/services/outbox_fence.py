"""Fencing the outbox (issue 19): an instance cut off from the database (or frozen) for longer
than the lease ttl may have had its pending replies adopted and sent by another instance, so it
sends nothing while its presence is not fresh, and once it is again asks the database which of
the replies it holds are still its own before sending any."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from datetime import datetime

from responder.errors import log_fault
from responder.services.presence import Presence
from responder.storage.store import Store

log = logging.getLogger(__name__)


class Fence:
    """The outbox's senders pass ready() before each try. While the presence is not fresh they
    wait: nothing is sent, dropped or counted as a try. After a lapse that may have let the
    presence run out, one query (storage.claims.owned_replies) over every reply held in
    memory, queued, in a sender's hands or waiting to retry, says which are still ours;
    `dropped` is told the others, which their new owner sends."""

    def __init__(
        self,
        presence: Presence | None,
        store: Store,
        held: Callable[[], set[int]],
        dropped: Callable[[set[int]], None],
        clock: Callable[[], datetime],
    ) -> None:
        self._presence, self._store, self._clock = presence, store, clock
        self._held, self._dropped = held, dropped
        self._checked = presence.lapses if presence is not None else 0
        self._checking = asyncio.Lock()
        self._failing = False
        self.holding_since: datetime | None = None  # for /healthz: replies held since then

    async def ready(self) -> None:
        """Return once this instance may send the replies it still owns."""
        presence = self._presence
        if presence is None:
            return
        while True:
            if not presence.fresh():
                self._hold(presence)
                await presence.wait_fresh()
                continue
            if presence.lapses == self._checked:
                break
            async with self._checking:  # one sender asks; the others wait for its answer
                if presence.lapses != self._checked and presence.fresh():
                    await self._recheck(presence)
        if self.holding_since is not None:
            since = self.holding_since.astimezone()
            log.warning(
                "the database answers again: sending resumes (held since %s)", f"{since:%X}"
            )
            self.holding_since = None

    def _hold(self, presence: Presence) -> None:
        if self.holding_since is not None:
            return
        self.holding_since = now = self._clock()
        runs_out = presence.runs_out(now)
        log.error(
            "cannot reach the database: replies held until this instance's presence is "
            "renewed (another instance may take them over%s and send them; none goes twice)",
            f" from {runs_out.astimezone():%H:%M:%S}" if runs_out else "",
        )

    async def _recheck(self, presence: Presence) -> None:
        lapses, ids = presence.lapses, self._held()
        try:
            owned = await self._store.owned_replies(ids) if ids else set()
        except Exception as exc:
            if not self._failing:
                log_fault(log, exc, "cannot check which held replies are still ours; held")
            self._failing = True
            await asyncio.sleep(presence.beat)
            return
        self._failing = False
        self._checked = lapses
        gone = ids - owned
        if gone:
            log.warning(
                "%d of the %d replies held here were taken over by another instance while "
                "this one could not renew its presence: dropped here, that instance sends them",
                len(gone),
                len(ids),
            )
            self._dropped(gone)
        elif ids:
            log.info("the %d replies held here are still this instance's to send", len(ids))
