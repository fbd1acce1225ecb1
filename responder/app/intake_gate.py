"""Intake held by one instance at a time (issue 19): each exclusive channel's intake runs while
this instance holds its lease and stops the moment it is lost; the timers' role likewise."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Coroutine, Iterable, Mapping
from datetime import datetime
from typing import Any

from responder.channels.base import Channel, ChannelHealth, Inbox, Pausable
from responder.channels.registry import intake_lease
from responder.common.tasks import TaskGroup, cancel
from responder.config import ChannelConfig
from responder.core.leases import SCHEDULER
from responder.errors import log_fault
from responder.services.leases import LeaseKeeper, OnChange
from responder.services.sla.wakeups import Wakeups

log = logging.getLogger(__name__)

STANDBY = "standby"


class IntakeGate:
    """Starts every channel: those served by every instance (webhooks, the website chat) at
    once, the exclusive ones (IMAP, getUpdates) only while their lease is held. Sending is
    never gated: the outbox sends through every channel on every instance."""

    def __init__(self, keeper: LeaseKeeper, clock: Callable[[], datetime]) -> None:
        self._keeper, self._clock = keeper, clock
        self._standby: dict[str, datetime] = {}  # exclusive channels not running: since when
        self.leases: dict[str, str] = {}  # channel name -> its lease

    async def start(
        self,
        channels: Mapping[str, Channel],
        configs: Iterable[ChannelConfig],
        inbox: Inbox,
    ) -> None:
        for config in configs:
            channel = channels[config.name]
            lease = intake_lease(config)
            if lease is None or not isinstance(channel, Pausable):
                await channel.start(inbox)
                continue
            self.leases[config.name] = lease
            self._standby[config.name] = self._clock()
            self._keeper.want(lease, self._switch(channel, inbox))

    def _switch(self, channel: Channel, inbox: Inbox) -> OnChange:
        name = channel.name

        async def switch(lease: str, held: bool) -> None:
            if held and name in self._standby:
                del self._standby[name]
                await channel.start(inbox)
            elif not held and name not in self._standby:
                self._standby[name] = self._clock()
                assert isinstance(channel, Pausable)
                await channel.pause()

        return switch

    def health(self, health: Mapping[str, ChannelHealth]) -> dict[str, ChannelHealth]:
        """`health` with each channel standing by for its lease said so: not down, waiting."""
        return {
            name: ChannelHealth(STANDBY, self._standby[name]) if name in self._standby else h
            for name, h in health.items()
        }

    def states(self, states: Mapping[str, str]) -> dict[str, str]:
        return {name: STANDBY if name in self._standby else s for name, s in states.items()}


class SchedulerRole:
    """The timers (SLA stages, surveys, auto-close) and the retention purge run on the
    instance holding the `scheduler` lease. Every instance plans timers in the transactions
    it runs; the holder arms them all from the rows when it takes the role, and again every
    heartbeat while other instances are about, so timers they planned fire on time."""

    def __init__(
        self,
        keeper: LeaseKeeper,
        wakeups: Iterable[Wakeups],
        retention: Callable[[], Coroutine[Any, Any, None]] | None,
        tasks: TaskGroup,
    ) -> None:
        self._keeper, self._wakeups, self._retention = keeper, list(wakeups), retention
        self._tasks = tasks
        self._running: list[asyncio.Task[None]] = []
        self._failing = False  # said once per outage, not at every heartbeat
        for wakeups_ in self._wakeups:
            wakeups_.role.clear()
        keeper.want(SCHEDULER, self._switch)

    async def _switch(self, lease: str, held: bool) -> None:
        if not held:
            for wakeups in self._wakeups:
                wakeups.role.clear()
            running, self._running = self._running, []
            await cancel(running)
            return
        if self._running:
            return
        await self._rebuild()
        for wakeups in self._wakeups:
            wakeups.role.set()
        self._running.append(self._tasks.spawn(self._refresh(), name="scheduler:refresh"))
        if self._retention is not None:
            # Message bodies older than the retention go, once a day; figures stay.
            self._running.append(self._tasks.spawn(self._retention(), name="retention"))

    async def _rebuild(self) -> None:
        failed: Exception | None = None
        for wakeups in self._wakeups:
            try:
                await wakeups.rebuild()
            except Exception as exc:
                failed = exc
        if failed is not None and not self._failing:
            log_fault(log, failed, "could not arm the timers; trying again each heartbeat")
        elif failed is None and self._failing:
            log.info("the timers are armed again")
        self._failing = failed is not None

    async def _refresh(self) -> None:
        keeper = self._keeper
        while True:
            await asyncio.sleep(keeper.beat.total_seconds())
            if keeper.others():
                await self._rebuild()
