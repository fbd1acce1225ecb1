"""Retention in the daemon: blank what people wrote after a while, a short transaction at a
time, once a day."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from datetime import datetime, timedelta

from responder.config import Config
from responder.storage.retention import BATCH, PurgeCounts, purge_bodies
from responder.storage.store import Store

log = logging.getLogger(__name__)


async def purge_once(store: Store, before: datetime, batch: int = BATCH) -> PurgeCounts:
    """A whole purge through the daemon's store, in short transactions of `batch` rows."""
    total = PurgeCounts()
    while True:
        counts = await store.run(purge_bodies, before, limit=batch)
        total += counts
        if counts.largest < batch:
            return total
        await asyncio.sleep(0)  # let the daemon's own writes in between


async def run_retention(
    store: Store,
    config: Config,
    clock: Callable[[], datetime],
    *,
    interval: timedelta = timedelta(days=1),
    first_delay: timedelta = timedelta(minutes=1),
) -> None:
    """The daemon's retention loop: a purge first_delay after start, then once per interval.

    Returns at once when config.retention is None; a failed purge is logged and tried again
    at the next interval. Cancel the task to stop it.
    """
    if config.retention is None:
        return
    keep = config.retention.bodies_after
    await asyncio.sleep(first_delay.total_seconds())
    while True:
        before = clock() - keep
        try:
            counts = await purge_once(store, before)
        except Exception as exc:  # a database fault or a bug: said, and tried next time
            log.error("retention: purge failed, next try in %s: %s", interval, exc)
        else:
            if counts.total:
                log.info(
                    "retention: blanked texts older than %s: %d message(s), %d reply(ies), "
                    "%d staff text(s), %d survey comment(s), %d web chat file(s)",
                    keep,
                    counts.inbound,
                    counts.replies,
                    counts.events,
                    counts.comments,
                    counts.files,
                )
        await asyncio.sleep(interval.total_seconds())
