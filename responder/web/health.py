"""What /healthz reads: the event loop's lag (a task that should wake every half second, and
how late it woke), and each channel's health in one line."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable

from responder.channels.base import ChannelHealth
from responder.channels.health import explain
from responder.common.tasks import TaskGroup

INTERVAL = 0.5  # how often the monitor wakes
STALE_AFTER = 5.0  # no tick for this long: the loop (or the monitor) is stuck
MAX_LAG = 2.0  # a timer woken this late means something blocked the loop


class LoopMonitor:
    """Sleeps `interval` seconds in a loop and records how late each wake-up came.

    Any code that blocks the event loop (a slow regex, a synchronous call) delays every
    timer, this one included, so the lateness of its wake-ups is the loop's lag. Independent
    of HTTP: /healthz reads it, and so can a systemd watchdog.
    """

    def __init__(
        self,
        tasks: TaskGroup,
        *,
        interval: float = INTERVAL,
        stale_after: float = STALE_AFTER,
        max_lag: float = MAX_LAG,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._tasks = tasks
        self.interval, self.stale_after, self.max_lag = interval, stale_after, max_lag
        self._clock = clock
        self.lag = 0.0  # seconds the last wake-up came late
        # When it last woke, by `clock` (monotonic: readable from any thread, e.g. a watchdog).
        self.last_tick: float | None = None
        self._task: asyncio.Task[None] | None = None

    def start(self) -> None:
        if self._task is None or self._task.done():
            self.last_tick = self._clock()
            self._task = self._tasks.spawn(self.run(), name="health:loop")

    def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            self._task = None

    async def run(self) -> None:
        while True:
            expected = self._clock() + self.interval
            await asyncio.sleep(self.interval)
            now = self._clock()
            self.lag = max(0.0, now - expected)
            self.last_tick = now

    def problems(self) -> list[str]:
        """Why the loop is not responsive, one line each; empty when it is."""
        if self.last_tick is None:
            return ["event loop monitor not started"]
        out = []
        since = self._clock() - self.last_tick
        if since > self.stale_after:
            out.append(f"event loop monitor last ticked {since:.1f} s ago")
        if self.lag >= self.max_lag:
            out.append(f"event loop lagged {self.lag:.1f} s")
        return out

    @property
    def responsive(self) -> bool:
        """Ticked within the last `stale_after` seconds and woke less than `max_lag` late."""
        return not self.problems()


def channel_line(name: str, health: ChannelHealth) -> str:
    """ "support-mail: failed since 2026-05-04T03:00:00+00:00: the password for ... was refused
    by imap.gmail.com (channels[0].password_file): Gmail needs an app password ..."."""
    line = f"{name}: {health.state} since {health.since.isoformat(timespec='seconds')}"
    return f"{line}: {explain(health.problem)}" if health.problem is not None else line
