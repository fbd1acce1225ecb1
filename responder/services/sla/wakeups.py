"""APScheduler wakes the daemon for the earliest pending timers (SLA stages, surveys); the rows
stay the truth."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Collection, Iterable
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING

from responder.common.tasks import TaskGroup
from responder.domain.timers import Armed
from responder.errors import log_fault

if TYPE_CHECKING:
    from apscheduler.schedulers.asyncio import AsyncIOScheduler

log = logging.getLogger(__name__)

# How many timers hold an APScheduler job at once. A job costs ~70 microseconds to add and its
# in-memory store inserts into a sorted list, so 100,000 jobs would take seconds to load (issue
# 5 asks for under 5 s); the earliest WINDOW are enough to wake us on time, and the rest are
# armed from the database as the window drains.
WINDOW = 1000
RETRY_SECONDS = 30.0
REWAKE = timedelta(seconds=1)
REFILL_SLICE = 100

Key = tuple[datetime, int]
Load = Callable[[Key | None, int], Awaitable[list[Armed]]]
Fire = Callable[[list[int]], Awaitable[list[Armed]]]


class Wakeups:
    """Keeps a job for every pending timer up to a frontier (due_at, id); jobs carry only the
    timer id, and whatever wakes is handed to `fire` in batches, which re-checks the rows."""

    def __init__(
        self, load: Load, fire: Fire, tasks: TaskGroup, window: int = WINDOW, name: str = "sla"
    ) -> None:
        self._load, self._fire, self._tasks, self._window = load, fire, tasks, window
        self._name = name
        self._scheduler: AsyncIOScheduler | None = None  # made for the first timer: _jobs
        self._started = False
        self._armed: dict[int, Key] = {}
        self._frontier: Key | None = None  # every pending timer up to here has a job
        self._complete = False  # the last load found them all: every pending timer has a job
        self._due: set[int] = set()
        self._wake = asyncio.Event()
        self.gate = asyncio.Event()  # set when firing may begin (channels have caught up)
        # Set while this instance holds the scheduler lease (issue 19): timers fire on one
        # instance; the others keep their jobs armed and wait.
        self.role = asyncio.Event()
        self.role.set()
        self.fired = 0  # batches handed to fire, for tests and benchmarks

    @property
    def armed(self) -> int:
        return len(self._armed)

    def _jobs(self) -> AsyncIOScheduler:
        """The scheduler, made when the first timer is armed. APScheduler is imported here, not
        at the top: it pulls in multiprocessing and concurrent.futures.process, which a daemon
        with no SLA or survey timers (mail-only) never needs (the 80 MB budget, issue 15)."""
        if self._scheduler is None:
            from apscheduler.schedulers.asyncio import AsyncIOScheduler

            self._scheduler = AsyncIOScheduler(
                timezone=UTC,
                # A timer that fell due while we were busy (or down) still fires, once.
                job_defaults={"misfire_grace_time": None, "coalesce": True, "max_instances": 1},
            )
            if self._started:
                self._scheduler.start(paused=True)  # the caller resumes it (see _pause)
        return self._scheduler

    async def start(self) -> None:
        self._started = True
        if self._scheduler is not None:  # armed before start
            self._scheduler.start(paused=True)
        await self.rebuild()
        self._tasks.spawn(self._worker(), name=f"{self._name}:wakeups")

    async def rebuild(self) -> None:
        """Forget every job and arm the earliest timers again from the rows (start, reload)."""
        self._pause()
        if self._scheduler is not None:
            self._scheduler.remove_all_jobs()
        self._armed.clear()
        self._frontier, self._complete = None, False
        await self._refill()

    def stop(self) -> None:
        self._started = False
        if self._scheduler is not None and self._scheduler.running:
            self._scheduler.shutdown(wait=False)

    def arm(self, timers: Iterable[Armed], not_before: datetime | None = None) -> None:
        """Timers that became pending or moved: a job if they are inside the frontier.

        `not_before` keeps a timer that woke but was not due by the service's clock (another
        clock than ours, as in tests) from waking again at once, over and over.
        """
        paused = self._pause()
        try:
            for timer in timers:
                key = (timer.due_at, timer.id)
                if self._complete or (self._frontier is not None and key <= self._frontier):
                    self._add(timer, not_before)
                elif timer.id in self._armed:
                    self._remove(timer.id)
            if self._complete and len(self._armed) >= 2 * self._window:
                # Too many jobs: keep them, but arm nothing past the latest until it drains.
                self._complete, self._frontier = False, max(self._armed.values())
        finally:
            if paused and self._scheduler is not None:
                self._scheduler.resume()

    def _pause(self) -> bool:
        """Pause a running scheduler; True: the caller resumes it when done."""
        # Adding a job to a running scheduler wakes its loop each time; paused, it does not.
        if self._scheduler is None:
            return self._started  # one made meanwhile starts paused
        from apscheduler.schedulers.base import STATE_RUNNING  # loaded with it: see _jobs

        if self._scheduler.state == STATE_RUNNING:
            self._scheduler.pause()
            return True
        return False

    def _add(self, timer: Armed, not_before: datetime | None = None) -> None:
        from apscheduler.triggers.date import DateTrigger  # see _jobs

        run_at = max(timer.due_at, not_before) if not_before is not None else timer.due_at
        self._jobs().add_job(
            self._job,
            DateTrigger(run_at),
            args=(timer.id,),
            id=str(timer.id),
            replace_existing=True,
        )
        self._armed[timer.id] = (timer.due_at, timer.id)

    def _remove(self, timer_id: int) -> None:
        self._armed.pop(timer_id, None)
        if self._scheduler is None:
            return
        job = self._scheduler.get_job(str(timer_id))
        if job is not None:
            job.remove()

    async def _refill(self) -> None:
        paused = self._pause()
        try:
            loaded = await self._load(self._frontier, self._window)
            for index, timer in enumerate(loaded, 1):
                self._add(timer)
                if index % REFILL_SLICE == 0:
                    await asyncio.sleep(0)  # ~70 us a job: let other work in between
            if loaded:
                self._frontier = (loaded[-1].due_at, loaded[-1].id)
            self._complete = len(loaded) < self._window
        finally:
            if self._scheduler is not None and (paused or self._paused_at_start()):
                self._scheduler.resume()

    def _paused_at_start(self) -> bool:
        from apscheduler.schedulers.base import STATE_PAUSED  # loaded with it: see _jobs

        return self._scheduler is not None and self._scheduler.state == STATE_PAUSED

    async def _job(self, timer_id: int) -> None:
        self._armed.pop(timer_id, None)
        self._due.add(timer_id)
        self._wake.set()

    async def _worker(self) -> None:
        await self.gate.wait()
        while True:
            await self._wake.wait()
            await self.role.wait()
            self._wake.clear()
            batch, self._due = sorted(self._due), set()
            if batch:
                try:
                    again = datetime.now(UTC) + REWAKE
                    self.arm(await self._fire(batch), not_before=again)
                except Exception as exc:
                    log_fault(log, exc, "%s timers %s failed; retrying soon", self._name, batch[:5])
                    self._retry(batch)
                self.fired += 1
            if not self._complete and len(self._armed) < self._window // 2:
                try:
                    await self._refill()
                except Exception as exc:
                    log_fault(
                        log, exc, "could not load the next %s timers; retrying soon", self._name
                    )
                    self._retry([])

    def _retry(self, batch: list[int]) -> None:
        def again() -> None:
            self._due.update(batch)
            self._wake.set()

        asyncio.get_running_loop().call_later(RETRY_SECONDS, again)


async def catch_up(
    overdue: Callable[[], Awaitable[Collection[int]]],
    handle: Callable[[Collection[int]], Awaitable[list[Armed]]],
    arm: Callable[[list[Armed]], None],
) -> int:
    """Handle every ticket with something due by now, a chunk at a time, arming what moves
    (start-up catch-up, or a test's injected clock); returns how many tickets."""
    count = 0
    while tickets := await overdue():
        arm(await handle(tickets))
        count += len(tickets)
    return count
