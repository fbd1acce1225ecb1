"""Who is listening to which visitor's conversation now: the open event streams and long
polls, each handed the events recorded for that visitor from the moment it subscribed."""

from __future__ import annotations

import asyncio
from collections import deque
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress

from responder.wire.webchat.events import Event

# Events held for one listener that does not read (a stalled connection); past this it is
# ended, and the browser's reconnect replays the rest from the database.
BACKLOG = 256


class Listener:
    """One open stream or poll: the events pushed to it, in order, until it ends."""

    def __init__(self, alive: Callable[[], bool] = lambda: True) -> None:
        self._pending: deque[Event] = deque()
        self._wake = asyncio.Event()
        self.ended = False
        self._behind = False
        # Whether its connection is still there: a tab closed or reloaded drops it at once,
        # though the stream would notice only at its next write.
        self.alive = alive

    def push(self, event: Event) -> None:
        if len(self._pending) >= BACKLOG:
            self.end()
            return
        self._pending.append(event)
        self._wake.set()

    def nudge(self) -> None:
        """Another instance recorded something for this visitor (issue 19): its stream reads
        the database now instead of at its next quiet keepalive."""
        self._behind = True
        self._wake.set()

    def behind(self) -> bool:
        """Whether it was nudged since the last call."""
        behind, self._behind = self._behind, False
        return behind

    def end(self) -> None:
        self.ended = True
        self._wake.set()

    async def next(self, timeout: float) -> list[Event]:
        """What was pushed since the last call, waiting up to `timeout` seconds for some;
        [] when none came (or the listener ended: see `ended`)."""
        if not self._pending and not self.ended:
            with suppress(TimeoutError):
                async with asyncio.timeout(timeout):  # not wait_for: see services.leases
                    await self._wake.wait()
        self._wake.clear()
        out = list(self._pending)
        self._pending.clear()
        return out


class Hub:
    """The channel's listeners by visitor."""

    def __init__(self) -> None:
        self._by_visitor: dict[str, set[Listener]] = {}
        self.closed = False

    def count(self, visitor: str | None = None) -> int:
        """Listeners of `visitor` (of everyone: None) whose connection is there; the others
        are ended, so a reload's new stream takes the place of the one it left."""
        groups = [self._by_visitor.get(visitor, set())] if visitor else self._by_visitor.values()
        live = 0
        for group in groups:
            for listener in group:
                if listener.ended or not listener.alive():
                    listener.end()
                else:
                    live += 1
        return live

    @contextmanager
    def listen(self, visitor: str, alive: Callable[[], bool] = lambda: True) -> Iterator[Listener]:
        listener = Listener(alive)
        if self.closed:
            listener.end()
        self._by_visitor.setdefault(visitor, set()).add(listener)
        try:
            yield listener
        finally:
            group = self._by_visitor.get(visitor)
            if group is not None:
                group.discard(listener)
                if not group:
                    del self._by_visitor[visitor]

    def publish(self, visitor: str, event: Event) -> int:
        """Push `event` to everyone listening to `visitor`; how many that is."""
        group = self._by_visitor.get(visitor, ())
        for listener in group:
            listener.push(event)
        return len(group)

    def nudge(self, visitor: str | None) -> None:
        """Wake everyone listening to `visitor` (None: to anyone) to read the database."""
        if visitor is None:
            groups = list(self._by_visitor.values())
        else:
            groups = [self._by_visitor.get(visitor, set())]
        for group in groups:
            for listener in group:
                listener.nudge()

    def close(self) -> None:
        """End every listener, and each one that comes after (the channel is stopping)."""
        self.closed = True
        for group in self._by_visitor.values():
            for listener in group:
                listener.end()

    def reopen(self) -> None:
        self.closed = False
