"""This instance's presence as the work it owns sees it (issue 19): fresh while no other
instance can have adopted that work, and how many times it may have run out since the start.
The lease keeper feeds it; the outbox sends only while it is fresh (services.outbox_fence)."""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Callable
from datetime import datetime, timedelta

from responder.core.leases import fresh, may_have_run_out


class Presence:
    """State only: when the presence row was last renewed (by an attempt that started then,
    on the monotonic clock), and `lapses`, raised each time it may have run out in between
    (or was released), after which what this instance held in memory may be another's."""

    def __init__(
        self, ttl: timedelta, beat: timedelta, monotonic: Callable[[], float] = time.monotonic
    ) -> None:
        self.ttl, self.beat = ttl.total_seconds(), beat.total_seconds()
        self._monotonic = monotonic
        self.renewed: float | None = None
        self.lapses = 0
        self._renewal = asyncio.Event()

    def now(self) -> float:
        return self._monotonic()

    def renewed_by(self, tried: float) -> None:
        """A renewal that started at `tried` went through (its answer came just now)."""
        if self.renewed is not None and may_have_run_out(self.renewed, self.now(), self.ttl):
            self.lapses += 1
        self.renewed = tried
        self._wake()

    def released(self) -> None:
        """The row is gone (a clean stop): the others adopt at once, nothing is fresh."""
        if self.renewed is not None:
            self.renewed = None
            self.lapses += 1
        self._wake()

    def fresh(self) -> bool:
        return fresh(self.renewed, self.now(), self.ttl, self.beat)

    def problems(self) -> list[str]:
        """For /healthz: this instance cut off from the database long enough to stand down."""
        if self.renewed is None or self.fresh():
            return []
        return [
            f"database: this instance's presence not renewed for {self.now() - self.renewed:.0f}s"
            ": intake stopped and replies held (another instance may take them over)"
        ]

    def runs_out(self, wall: datetime) -> datetime | None:
        """When the row may run out, on the wall clock that reads `wall` now (for the log)."""
        if self.renewed is None:
            return None
        return wall + timedelta(seconds=self.renewed + self.ttl - self.now())

    async def wait_fresh(self) -> None:
        """Until fresh again: woken by each renewal, looking again every beat regardless."""
        while not self.fresh():
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(self.beat):  # not wait_for: see services.leases
                    await self._renewal.wait()

    def _wake(self) -> None:
        self._renewal.set()
        self._renewal = asyncio.Event()
