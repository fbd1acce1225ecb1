"""Watches every channel's health: says in the log when one fails for a reason only the admin
can fix (once, then hourly), and when it works again; records it for `responder status`."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable, Mapping
from datetime import datetime

from responder.channels import health
from responder.channels.base import ChannelHealth
from responder.domain.records import HealthRow
from responder.storage.channel_health import HEARTBEAT, save_health, stopped_health, touch_health
from responder.storage.engine import describe
from responder.storage.store import Store, Tx

log = logging.getLogger(__name__)

POLL = 1.0  # channel health is a plain property of the channel protocol, so it is polled
REMIND_EVERY = 3600.0  # a channel that stays failed is said again this often

Read = Callable[[], Mapping[str, ChannelHealth]]
Write = Callable[[Tx, datetime], None]


class ChannelWatch:
    """Compares each channel's health with what it last saw. Its database writes happen in
    its own task, so intake never waits for them; a write that fails is said once and made
    again at the next change or heartbeat."""

    def __init__(self, read: Read, store: Store, clock: Callable[[], datetime]) -> None:
        self._read = read
        self._store = store
        self._clock = clock
        self._seen: dict[str, ChannelHealth] = {}
        self._said: dict[str, float] = {}  # channel -> when its failure was last logged
        self._failing: dict[str, datetime] = {}  # channel -> since when, until it connects
        self._tried_at: float | None = None  # time.monotonic() of the last write tried
        self._unsaved = True
        self._write_failed = False

    async def run(self, poll: float = POLL) -> None:
        while True:
            await self.check()
            await asyncio.sleep(poll)

    async def check(self) -> None:
        """Log what changed, and record it."""
        now = self._read()
        changed = False
        for name, current in now.items():
            if self._seen.get(name) != current:
                changed = True
                self._say(name, current)
            elif current.state == "failed" and current.problem and self._due(name):
                self._remind(name, current)
        changed |= set(now) != set(self._seen)
        self._seen = dict(now)
        heartbeat = (
            self._tried_at is None or time.monotonic() - self._tried_at >= HEARTBEAT.total_seconds()
        )
        if changed or (self._unsaved and heartbeat):
            rows = _rows(now)
            await self._write(lambda conn, at: save_health(conn, rows, at, self._store.owner))
        elif heartbeat:
            await self._write(lambda conn, at: touch_health(conn, at, self._store.owner))

    async def stopped(self) -> None:
        """The daemon stops: its rows say so, keeping each channel's last problem; another
        instance's rows stay as they are (issue 19)."""
        await self._write(lambda conn, at: stopped_health(conn, at, self._store.owner))

    def _due(self, name: str) -> bool:
        return time.monotonic() - self._said.get(name, 0.0) >= REMIND_EVERY

    def _say(self, name: str, now: ChannelHealth) -> None:
        problem = now.problem
        if now.state == "failed" and problem is not None:
            self._said[name] = time.monotonic()
            self._failing.setdefault(name, now.since)
            log.error(
                "channel %s: %s; trying again every %s%s",
                name,
                health.explain(problem),
                health.pace(health.SLOW_RETRY),
                "; its other folders keep working" if now.partial else "",
            )
        elif now.state == "connected" and name in self._failing:
            # Through "starting" after a reload, maybe between two polls: said all the same.
            since = self._failing.pop(name)
            log.info("channel %s works again (it was failing since %s)", name, _at(since))

    def _remind(self, name: str, now: ChannelHealth) -> None:
        self._said[name] = time.monotonic()
        problem = now.problem
        assert problem is not None  # checked by the caller
        log.error(
            "channel %s is still failing, since %s: %s",
            name,
            _at(now.since),
            health.explain(problem),
        )

    async def _write(self, work: Write) -> None:
        at = self._clock()
        self._tried_at = time.monotonic()  # tried: the next try waits for a change or HEARTBEAT
        try:
            await self._store.run(work, at)
        except Exception as exc:
            self._unsaved = True
            if not self._write_failed:
                self._write_failed = True
                log.warning(
                    "could not record the channels' health for `responder status`: %s; "
                    "trying again at the next change (or in a minute)",
                    describe(exc),
                )
            return
        if self._write_failed:
            log.info("the channels' health is recorded again")
        self._unsaved = self._write_failed = False


def _at(when: datetime) -> str:
    return when.isoformat(timespec="seconds")


def _rows(now: Mapping[str, ChannelHealth]) -> list[HealthRow]:
    rows = []
    for name, current in now.items():
        problem = current.problem
        rows.append(
            HealthRow(
                name,
                current.state,
                current.since,
                problem.problem if problem else None,
                problem.remedy if problem and problem.remedy else None,
                problem.key if problem and problem.key else None,
            )
        )
    return rows
