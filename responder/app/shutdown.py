"""The clean stop: its phases in order, each bounded, timed and logged, so the whole stop ends
within systemd's TimeoutStopSec."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable, Mapping
from typing import TYPE_CHECKING, Protocol

if TYPE_CHECKING:
    from responder.channels.base import Channel, Inbox
    from responder.common.tasks import TaskGroup
    from responder.services.adoption import Adoption
    from responder.services.channel_watch import ChannelWatch
    from responder.services.chat_relay import ChatRelay
    from responder.services.dispatch import Dispatcher
    from responder.services.leases import LeaseKeeper
    from responder.services.outbox import Outbox
    from responder.storage.store import Store
    from responder.web.health import LoopMonitor
    from responder.web.server import HttpServer

# The daemon's own news, under its logger's name as before (admins' filters name it).
log = logging.getLogger("responder.app.daemon")

# App.stop's deadline: the queued work (undecided messages, unsent replies) gets half each.
DEADLINE = 10.0
# The phases around that work (stopping channels, releasing the leases, recording the
# channels' health, closing the database) share this much more; each gets at most PHASE and
# at least LEAST, so a database that does not answer costs seconds, not each write's lock or
# busy timeout (SQLite 5 s, PostgreSQL 10 s) for each write queued; once one write overran,
# the database's later phases get LEAST each. Worst case about DEADLINE + MARGIN + LEAST for
# each of the dozen or so phases (two per channel), some 22 s: within the unit's
# TimeoutStopSec=30s (systemd/responder.service), after which systemd kills the daemon.
MARGIN = 5.0
PHASE = 2.0
LEAST = 0.5
# A phase this slow is the admin's news (which part held the stop up), not only debugging's.
SLOW = 1.0


class Timers(Protocol):
    def stop(self) -> None: ...


class Parts(Protocol):
    """What the stop stops: the composition root's parts (app.daemon.App)."""

    keeper: LeaseKeeper
    adoption: Adoption | None
    http: HttpServer | None
    dispatcher: Dispatcher | None
    outbox: Outbox | None
    monitor: LoopMonitor
    relay: ChatRelay
    tasks: TaskGroup
    watch: ChannelWatch
    store: Store

    @property
    def inbox(self) -> Inbox | None: ...

    @property
    def channels(self) -> Mapping[str, Channel]: ...

    @property
    def timers(self) -> list[Timers]: ...


class Phases:
    """Runs a stop's phases one after another: each within its budget (what is left of the
    deadline and margin, clamped to LEAST..PHASE), a phase that fails or overruns logged
    and left behind, every phase's duration logged (INFO over SLOW, else DEBUG). The
    database's phases wait in one queue (its thread): once one overran, the others get
    LEAST, as they would only wait behind it."""

    def __init__(self, deadline: float, clock: Callable[[], float] = time.monotonic) -> None:
        self._clock = clock
        self.began = clock()
        self._end = self.began + deadline + MARGIN
        self.database_answers = True

    def budget(self, most: float = PHASE) -> float:
        return max(LEAST, min(most, self._end - self._clock()))

    async def run(
        self, name: str, step: Awaitable[object], most: float = PHASE, *, database: bool = False
    ) -> bool:
        """Await `step` within its budget; whether it finished in time without failing."""
        budget = self.budget(most if self.database_answers or not database else LEAST)
        began = self._clock()
        finished = False
        try:
            async with asyncio.timeout(budget):
                await step
            finished = True
        except TimeoutError:
            self.database_answers = self.database_answers and not database
            log.warning("stopping: %s did not finish within %.1fs; going on", name, budget)
        except Exception:
            log.exception("stopping: %s failed; going on", name)
        self.took(name, began)
        return finished

    def took(self, name: str, began: float) -> None:
        took = self._clock() - began
        level = logging.INFO if took >= SLOW else logging.DEBUG
        log.log(level, "stopping: %s took %.1fs", name, took)


async def stop_parts(app: Parts, deadline: float) -> None:
    """Stop intake, let queued work finish until the deadline, then cancel the rest; release
    the leases and close the database."""
    phases = Phases(deadline)
    # No intake starts from here on; its presence stays until the replies are sent.
    await phases.run("the lease heartbeat", app.keeper.stopping())
    if app.adoption is not None:
        await phases.run("adoption", app.adoption.halt())
    if app.http is not None:
        await phases.run("the http endpoint", app.http.stop())
    await _stop_channels(app, phases)
    if app.dispatcher is not None:
        queue = app.dispatcher.queue
        if not await phases.run("deciding what is queued", queue.join(), deadline / 2):
            log.warning(
                "stopping with %d messages undecided; another instance, or this one's "
                "next start, decides them",
                queue.qsize(),
            )
    for timers in app.timers:
        timers.stop()
    app.monitor.stop()
    await phases.run("the web chat's listener", app.relay.stop())
    # Another instance takes over at its next heartbeat.
    await phases.run("handing the leases over", app.keeper.hand_over(), database=True)
    if app.outbox is not None:
        began = time.monotonic()
        if not await app.outbox.drain(phases.budget(deadline / 2)):
            log.warning(
                "stopping with replies unsent; another instance, or this one's next "
                "start, sends them"
            )
        phases.took("sending what is queued", began)
    # Again: stop() is idempotent, and this closes connections the drain opened.
    await _stop_channels(app, phases)
    await phases.run("the background tasks", app.tasks.cancel_all())
    # Nothing runs any more: what this instance owned is anybody's now.
    await phases.run("releasing the leases", app.keeper.release(), database=True)
    if app.inbox is not None:  # started: `status` shows the channels stopped
        await phases.run("recording the channels stopped", app.watch.stopped(), database=True)
    # A database that does not answer is left behind: its thread is a daemon thread, and
    # a unit cut off mid-transaction is rolled back, as after kill -9.
    await phases.run("closing the database", app.store.close(), database=True)
    phases.took("the stop", phases.began)


async def _stop_channels(app: Parts, phases: Phases) -> None:
    for channel in reversed(list(app.channels.values())):
        await phases.run(f"channel {channel.name}", channel.stop())
