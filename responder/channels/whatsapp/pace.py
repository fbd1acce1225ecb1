"""Sends to each customer one at a time and in order, and held back when Meta asks us to
space them (131056, per customer) or to slow down (130429, the whole number)."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager

from responder.errors import TransientError

EVERYONE = ""  # the key of a hold on the whole number


class Pace:
    """One lock per customer while a send to them is under way (asyncio.Lock is first come,
    first served, so the outbox's order holds), and the holds Meta's errors asked for."""

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self._clock = clock
        self._locks: dict[str, asyncio.Lock] = {}
        self._users: dict[str, int] = {}
        self._until: dict[str, float] = {}

    @asynccontextmanager
    async def turn(self, to: str) -> AsyncIterator[None]:
        """Wait for the sends to `to` before this one; raise TransientError at once while a
        hold lasts, so the reply is retried after it and the lane serves others meanwhile."""
        lock = self._locks.setdefault(to, asyncio.Lock())
        self._users[to] = self._users.get(to, 0) + 1
        try:
            async with lock:
                self._check(to)
                yield
        finally:
            self._users[to] -= 1
            if not self._users[to]:
                del self._users[to], self._locks[to]

    def hold(self, to: str, seconds: float) -> None:
        """No sends to `to` (EVERYONE: to anyone) for `seconds`."""
        until = self._clock() + seconds
        self._until[to] = max(until, self._until.get(to, 0.0))

    def _check(self, to: str) -> None:
        now = self._clock()
        for key, who in ((EVERYONE, "anyone"), (to, "this customer")):
            until = self._until.get(key)
            if until is None:
                continue
            if until <= now:
                del self._until[key]
                continue
            wait = until - now
            raise TransientError(f"WhatsApp asked us to wait before writing to {who}", wait)
