"""The clean stop's phases, each bounded, timed and logged, so the whole stop ends in time."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable

log = logging.getLogger(__name__)

# App.stop's deadline: the queued work (undecided messages, unsent replies) gets half each.
DEADLINE = 10.0
# The phases around that work (stopping channels, releasing the leases, recording the
# channels' health, closing the database) share this much more; each gets at most PHASE and
# at least LEAST, so a database that does not answer costs seconds, not each write's lock or
# busy timeout (SQLite 5 s, PostgreSQL 10 s) for each write queued; once one write overran,
# the database's later phases get LEAST each. Worst case about DEADLINE + MARGIN + 12 * LEAST
# = 21 s, within the unit's TimeoutStopSec=30s (systemd/responder.service), after which
# systemd kills the daemon.
MARGIN = 5.0
PHASE = 2.0
LEAST = 0.5
# A phase this slow is the admin's news (which part held the stop up), not only debugging's.
SLOW = 1.0


class Phases:
    """Runs a stop's phases one after another: each within its budget (what is left of the
    deadline and margin, clamped to LEAST..PHASE), a phase that fails or overruns logged
    and left behind, every phase's duration logged (INFO over SLOW, else DEBUG). The
    database's phases wait in one queue (its thread): once one overran, the others get
    LEAST, as they would only wait behind it."""

    def __init__(self, deadline: float, clock: Callable[[], float] = time.monotonic) -> None:
        self._clock = clock
        self.began = clock()
        self._end = self.began + deadline + MARGIN
        self.database_answers = True

    def budget(self, most: float = PHASE) -> float:
        return max(LEAST, min(most, self._end - self._clock()))

    async def run(
        self, name: str, step: Awaitable[object], most: float = PHASE, *, database: bool = False
    ) -> bool:
        """Await `step` within its budget; whether it finished in time without failing."""
        budget = self.budget(most if self.database_answers or not database else LEAST)
        began = self._clock()
        finished = False
        try:
            async with asyncio.timeout(budget):
                await step
            finished = True
        except TimeoutError:
            self.database_answers = self.database_answers and not database
            log.warning("stopping: %s did not finish within %.1fs; going on", name, budget)
        except Exception:
            log.exception("stopping: %s failed; going on", name)
        self.took(name, began)
        return finished

    def took(self, name: str, began: float) -> None:
        took = self._clock() - began
        level = logging.INFO if took >= SLOW else logging.DEBUG
        log.log(level, "stopping: %s took %.1fs", name, took)
