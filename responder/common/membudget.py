"""Memory bounded by bytes of mail, not by the size of a backlog (issue 13): chunk planning and
the process's budget of mail bytes held at once."""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
from collections import deque
from collections.abc import AsyncIterator, Sequence
from typing import Any

log = logging.getLogger(__name__)

MB = 1024 * 1024


class MailBytes:
    """Bytes of mail held in memory at once, by intake (a FETCH until it is recorded) and
    deciding (a run loaded until it is applied) together. A message costs a few times its size
    on its way (the bytes, SQLite's copies on insert and on the state update), so a budget
    keeps a backlog of big mail to one message at a time; a holder bigger than the budget waits
    to be alone. First come, first served, so intake cannot starve deciding. After a big hold,
    what it freed goes back to the system: glibc would keep it per thread."""

    def __init__(self, limit: int, patience: float = 30.0, trim_from: int = 4 * MB) -> None:
        self._limit = limit
        self._patience = patience
        self._trim_from = trim_from
        self._used = 0
        self._waiting: deque[tuple[int, asyncio.Future[None]]] = deque()

    @contextlib.asynccontextmanager
    async def hold(self, nbytes: int) -> AsyncIterator[None]:
        want = min(max(nbytes, 0), self._limit)
        if self._waiting or not self._fits(want):
            await self._wait(want)
        else:
            self._used += want
        if nbytes >= self._trim_from:
            _glibc()
        try:
            yield
        finally:
            self._used -= want
            self._wake()
            if nbytes >= self._trim_from:
                _trim_heap()

    def _fits(self, want: int) -> bool:
        return not self._used or self._used + want <= self._limit

    async def _wait(self, want: int) -> None:
        """Queue up; _wake() reserves the bytes before it hands over."""
        waiter = asyncio.get_running_loop().create_future()
        entry = (want, waiter)
        self._waiting.append(entry)
        try:
            await asyncio.wait({waiter}, timeout=self._patience)
        except BaseException:
            if waiter.done():  # handed over just as this task was cancelled: hand it on
                self._used -= want
                self._wake()
            else:
                self._waiting.remove(entry)
            raise
        if not waiter.done():
            # Patience, not a hard wait: a holder that itself waits on the other side (intake
            # on a full queue) must not stop the process; then memory is the lesser risk.
            self._waiting.remove(entry)
            waiter.cancel()
            log.warning("going ahead with %.1f MB of mail over the memory budget", want / MB)
            self._used += want

    def _wake(self) -> None:
        while self._waiting and self._fits(self._waiting[0][0]):
            want, waiter = self._waiting.popleft()
            self._used += want
            waiter.set_result(None)


# mallopt(3) parameter: blocks this big or bigger get a mapping of their own.
_M_MMAP_THRESHOLD = -3


@functools.cache
def _glibc() -> Any:
    """glibc, tuned the first time big mail comes (ctypes alone costs ~3 MB, so not before):
    a block of 1 MB or more gets a mapping of its own, handed back whole when freed. By
    default glibc raises that threshold after the first big free, and keeps the next blocks
    up to 32 MB in each thread's heap, grown by copying. None elsewhere (musl, macOS)."""
    import ctypes

    libc = ctypes.CDLL(None)
    if not (hasattr(libc, "mallopt") and hasattr(libc, "malloc_trim")):
        return None
    libc.mallopt(_M_MMAP_THRESHOLD, MB)
    return libc


def _trim_heap() -> None:
    """malloc_trim(3): what the threads' heaps freed goes back to the system (a millisecond
    or two), instead of staying resident until reused."""
    libc = _glibc()
    if libc is not None:
        libc.malloc_trim(0)


# The process's budget, made once by the composition root: every channel's intake and the
# dispatcher share the memory.
MAIL_BUDGET = 16 * MB


def byte_chunks(
    sizes: Sequence[tuple[int, int]], max_bytes: int, max_count: int, first: int | None = None
) -> list[list[int]]:
    """Split (key, size) pairs, in order, into runs of at most `max_count` keys whose sizes
    add up to at most `max_bytes`; a key bigger than the budget goes alone, never skipped.
    With `first`, the first run holds at most that many keys and each next one twice as many
    as the one before, up to `max_count`."""
    chunks: list[list[int]] = []
    current: list[int] = []
    total = 0
    count = min(first or max_count, max_count)
    for key, size in sizes:
        if current and (total + size > max_bytes or len(current) >= count):
            chunks.append(current)
            current, total = [], 0
            count = min(2 * count, max_count)
        current.append(key)
        total += max(size, 0)
    if current:
        chunks.append(current)
    return chunks
