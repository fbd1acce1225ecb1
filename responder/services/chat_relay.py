"""Live web chat across instances (issue 19): what one instance records for a visitor is told
to the others through PostgreSQL's NOTIFY, and the one holding the visitor's stream reads it
at once; on SQLite, or while not listening, streams read at each quiet keepalive instead."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable

from responder.channels.base import Nudge
from responder.common.tasks import TaskGroup
from responder.storage.notices import CHAT_NOTICES, notify
from responder.storage.store import Store

log = logging.getLogger(__name__)

# Waits between tries to listen again, doubling: a restarting server is back in seconds.
BACKOFF_FIRST, BACKOFF_CAP = 0.5, 30.0
TELL_LOG_SECONDS = 60.0  # a failing NOTIFY is logged at most this often


class ChatRelay:
    """The Peers of channels.base for every web chat channel of this instance: one listening
    connection per instance (PostgreSQL), a named task started and stopped by the composition
    root, listening again with backoff after the server restarts."""

    def __init__(
        self, store: Store, others: Callable[[], bool], instance: str, tasks: TaskGroup
    ) -> None:
        self._store = store
        self._others = others  # another instance present at the last heartbeat
        self._instance = instance
        self._tasks = tasks
        self._followers: dict[str, Nudge] = {}
        self._task: asyncio.Task[None] | None = None
        self.listening = False
        self._tell_logged = -TELL_LOG_SECONDS

    def follow(self, channel: str, nudge: Nudge) -> None:
        self._followers[channel] = nudge

    def unheard(self) -> bool:
        return self._others() and not self.listening

    async def tell(self, channel: str, visitor: str) -> None:
        """A NOTIFY after the write committed (PostgreSQL; SQLite has none): one short unit."""
        if not self._store.postgresql:
            return
        payload = f"{channel}\t{visitor}\t{self._instance}"
        try:
            await self._store.run(notify, CHAT_NOTICES, payload)
        except Exception as exc:
            now = time.monotonic()
            if now - self._tell_logged >= TELL_LOG_SECONDS:
                self._tell_logged = now
                log.warning(
                    "web chat: could not tell the other instances of a visitor's new event "
                    "(their open streams show it on reconnecting): %s",
                    exc,
                )

    def start(self) -> None:
        """Listen, on PostgreSQL, when a channel follows (a web chat is configured)."""
        if self._store.postgresql and self._followers:
            self._task = self._tasks.spawn(self._run(), name="chat-relay:listen")

    async def stop(self) -> None:
        task, self._task = self._task, None
        if task is not None:
            task.cancel()
            await asyncio.gather(task, return_exceptions=True)
        self.listening = False

    async def _run(self) -> None:
        wait, failing = BACKOFF_FIRST, False
        while True:
            try:
                async with self._store.listen(CHAT_NOTICES) as notices:
                    self.listening = True
                    if failing:
                        log.info("web chat: listening to the other instances again")
                    wait, failing = BACKOFF_FIRST, False
                    # What was told while nobody listened is read now, by every stream.
                    for nudge in list(self._followers.values()):
                        nudge(None)
                    async for payload in notices:
                        self._heard(payload)
                raise ConnectionError("the listening connection ended")
            except Exception as exc:
                self.listening = False
                if not failing:
                    # Said once until it works again; meanwhile streams read at keepalives.
                    log.error(
                        "web chat: cannot listen to the other instances (retrying; until "
                        "then open streams show what they record at each keepalive): %s",
                        exc,
                    )
                failing = True
            await asyncio.sleep(wait)
            wait = min(wait * 2, BACKOFF_CAP)

    def _heard(self, payload: str) -> None:
        channel, _, rest = payload.partition("\t")
        visitor, _, sender = rest.partition("\t")
        if sender == self._instance:
            return  # its own streams had the event from its hub already
        nudge = self._followers.get(channel)
        if nudge is not None and visitor:
            nudge(visitor)
