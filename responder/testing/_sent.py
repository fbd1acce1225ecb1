"""Waiting for what a stand-in recorded as sent, from blocking test code or from async code."""

from __future__ import annotations

import asyncio
import threading
import time
from typing import Generic, TypeVar

T = TypeVar("T")


class SentLog(Generic[T]):
    """`sent` grows under `_cond` as the stand-in's thread accepts messages; `_shortfall` says
    what came when too few did."""

    sent: list[T]
    _cond: threading.Condition

    def _shortfall(self, n: int, timeout: float) -> str:
        raise NotImplementedError

    def wait_for_sent(self, n: int, timeout: float) -> list[T]:
        """Block until at least `n` messages were sent; returns all sent so far."""
        with self._cond:
            if not self._cond.wait_for(lambda: len(self.sent) >= n, timeout):
                raise TimeoutError(self._shortfall(n, timeout))
            return list(self.sent)

    # Same signature as wait_for_sent on purpose, hence the timeout argument.
    async def wait_for_sent_async(self, n: int, timeout: float) -> list[T]:
        """Like wait_for_sent, polling so the caller's event loop keeps running."""
        deadline = time.monotonic() + timeout
        while True:
            with self._cond:
                if len(self.sent) >= n:
                    return list(self.sent)
                if time.monotonic() >= deadline:
                    raise TimeoutError(self._shortfall(n, timeout))
            await asyncio.sleep(0.01)
