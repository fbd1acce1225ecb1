"""The composition root: builds every part from the config, starts them in order, stops them
in reverse."""

from __future__ import annotations

import asyncio
import gc
import logging
from collections.abc import Callable
from datetime import datetime
from typing import TYPE_CHECKING

from responder.app.channel_control import (
    Reconfigurer,
    caught_up,
    file_fetcher,
    located_health,
    require_one_working,
    site,
    stream_closers,
    webhook_routes,
)
from responder.app.intake_gate import IntakeGate, SchedulerRole
from responder.app.reload import swap_in
from responder.app.shutdown import DEADLINE, Timers, stop_parts
from responder.channels.base import Channel, ChannelHealth
from responder.channels.oauth import token_source
from responder.channels.registry import build_channel
from responder.common.metrics import Metrics
from responder.common.tasks import TaskGroup
from responder.config import Config
from responder.core.settings import Settings
from responder.services.adoption import Adoption
from responder.services.channel_watch import ChannelWatch
from responder.services.chat_relay import ChatRelay
from responder.services.closing.service import CloseService
from responder.services.csat.service import SurveyService
from responder.services.dispatch import Dispatcher
from responder.services.inbox import StoreInbox
from responder.services.leases import Instance, LeaseKeeper
from responder.services.outbox import Outbox, RetryPolicy
from responder.services.retention import run_retention
from responder.services.settings import build_settings
from responder.services.sla.service import SlaService
from responder.storage.store import Store, utcnow
from responder.web.health import LoopMonitor

if TYPE_CHECKING:
    from responder.channels.oauth.tokens import TokenSource
    from responder.config import EmailChannelConfig
    from responder.web.server import HttpServer

log = logging.getLogger(__name__)

# How long start-up waits for the channels to catch up before overdue SLA timers fire.
SLA_GATE_SECONDS = 60.0


class App:
    def __init__(
        self,
        config: Config,
        *,
        clock: Callable[[], datetime] = utcnow,
        retry: RetryPolicy | None = None,
    ) -> None:
        self.config = config
        self._clock = clock
        delivery = config.delivery
        self._retry = retry or RetryPolicy(
            base=delivery.retry_base,
            cap=delivery.retry_cap,
            lifetime=delivery.lifetime,
            ack_max_age=delivery.ack_max_age,
            max_attempts=delivery.max_attempts,
            probe_interval=delivery.probe_interval,
        )
        self.tasks = TaskGroup()
        instance = Instance.this_process()
        # The replies it plans and the messages it records are this instance's (issue 19).
        self.store = Store(config.database_url_resolved, clock, owner=instance.id)
        self.channels: dict[str, Channel] = {}
        self.dispatcher: Dispatcher | None = None
        self.outbox: Outbox | None = None
        self.sla: SlaService | None = None
        self.surveys: SurveyService | None = None
        self.closing: CloseService | None = None
        self.metrics = Metrics()
        self.monitor = LoopMonitor(self.tasks)
        self.http: HttpServer | None = None
        self.watch = ChannelWatch(self.channel_health, self.store, clock)
        self.inbox: StoreInbox | None = None
        self.reconfigurer = Reconfigurer(self.tasks, self._channel_restarted)
        # Several instances on one database (issue 19): intake and timers by lease.
        cluster = config.cluster
        self.keeper = LeaseKeeper(
            self.store,
            instance,
            cluster.lease_ttl,
            cluster.heartbeat,
            clock,
            self.tasks,
        )
        self.gate = IntakeGate(self.keeper, clock)
        # Live web chat across instances: PostgreSQL's NOTIFY, else keepalive reads.
        self.relay = ChatRelay(self.store, self.keeper.others, instance.id, self.tasks)
        self.adoption: Adoption | None = None

    async def start(self) -> None:
        for problem in self.config.warnings:
            log.warning("config: %s", problem)
        # Every template is rendered against samples: CPU work, kept off the loop.
        settings = await asyncio.to_thread(build_settings, self.config)
        await self.store.open()
        # Present before anything is recorded: what this instance owns is not orphaned.
        await self.keeper.announce()
        self.monitor.start()
        self.metrics.watch_channels(self.health)
        self.metrics.watch_loop(lambda: self.monitor.lag)
        self.metrics.watch_leases(self.keeper.holding)
        metrics = self.metrics
        files = file_fetcher(lambda: self.channels, lambda: self.config.templates_dir)
        served = site(lambda: self.config, lambda: self._settings(settings), self._clock)
        self.channels = {
            c.name: build_channel(
                c, self.tasks, self._tokens_for, metrics, files, served, self.relay
            )
            for c in self.config.channels
        }
        self.relay.start()
        self.outbox = Outbox(
            self.store,
            self.channels,
            self.tasks,
            self._clock,
            self._retry,
            metrics=metrics,
            presence=self.keeper.presence,  # sends only while nobody can have adopted them
        )
        self.dispatcher = Dispatcher(
            self.store,
            settings,
            self.outbox.submit,
            self._clock,
            self.config.queue_size,
            metrics=metrics,
        )
        self.outbox.start()
        dispatcher = self.dispatcher
        # Before anything is decided: every change to a ticket re-plans its SLA timers.
        self.sla = SlaService(
            self.store,
            lambda: dispatcher.settings,
            self.outbox.submit,
            self._clock,
            self.tasks,
            metrics=metrics,
        )
        await self.sla.start()
        secret = self.config.http.secret if self.config.http is not None else None
        self.surveys = SurveyService(
            self.store,
            lambda: dispatcher.settings,
            self.outbox.submit,
            self._clock,
            self.tasks,
            secret.get_secret_value().encode() if secret is not None else None,
            metrics=metrics,
        )
        await self.surveys.start()
        # Its close timers ride the same hooks: a ticket it closes gets its survey planned
        # and its SLA clocks stopped in the transaction that closes it.
        self.closing = CloseService(
            self.store, lambda: dispatcher.settings, self.outbox.submit, self._clock, self.tasks
        )
        await self.closing.start()
        store, config = self.store, self.config
        SchedulerRole(
            self.keeper,
            [self.sla.wakeups, self.surveys.wakeups, self.closing.wakeups],
            # Message bodies older than the retention go, once a day; figures stay.
            (lambda: run_retention(store, config, self._clock)) if config.retention else None,
            self.tasks,
        )
        if self.config.http is not None:
            # Imported only when asked for: aiohttp's server costs ~10 MB of RSS (issue 2's
            # budget is 80 MB) in every daemon that listens on nothing.
            from responder.web.server import HttpServer
            from responder.web.survey_pages import SurveyPages

            pages = SurveyPages(self.surveys, lambda: dispatcher.settings, self._clock)
            self.http = HttpServer(
                self.config.http,
                self.metrics,
                self.channel_health,
                self.monitor,
                routes=[*pages.routes(), *webhook_routes(self.channels.values())],
                on_shutdown=stream_closers(self.channels.values()),
                leases=self.keeper.holding,
                problems=self.keeper.presence.problems,
            )
            await self.http.start()
        self.tasks.spawn(self.dispatcher.run(), name="dispatch")
        # Resume what the last run left in flight, before new mail arrives: what no live
        # instance sends or decides (issue 19), then what instances gone leave, each beat.
        queue = self.dispatcher.queue
        self.adoption = Adoption(self.store, self.outbox, queue.put, self.keeper, self.tasks)
        unsent, pending = await self.adoption.take()
        if unsent or pending:
            log.info("resuming: %d messages to decide, %d replies to send", len(pending), unsent)
        self.adoption.start(pending)
        inbox = StoreInbox(
            self.store, self.dispatcher.queue, budget=self.dispatcher.budget, metrics=metrics
        )
        await self.gate.start(self.channels, self.config.channels, inbox)
        await self.keeper.heartbeat()  # the leases free now: intake starts at once
        self.keeper.start()
        self.inbox = inbox
        self.tasks.spawn(self.watch.run(), name="channels:watch")
        self.tasks.spawn(self._open_sla_gate(), name="sla:gate")
        # What start-up built (config, templates, the libraries' own tables) lives as long as
        # the process: out of the collector's sight, so a full collection walks only what
        # messages made (gc.freeze; measured in bench/README.md, issue 17's stream latency).
        gc.collect()
        gc.freeze()
        log.info("responder started with %d channel(s)", len(self.channels))

    async def _open_sla_gate(self, wait: float = SLA_GATE_SECONDS) -> None:
        """Timers that fell due while we were down fire once the channels have caught up, so
        a staff reply sent meanwhile (found in the Sent folder) cancels its reminder first."""
        assert self.dispatcher is not None and self.sla is not None
        await caught_up(lambda: self.health().values(), self.dispatcher.queue, wait)
        self.sla.wakeups.gate.set()
        if self.surveys is not None:
            self.surveys.wakeups.gate.set()
        if self.closing is not None:
            self.closing.wakeups.gate.set()

    async def stop(self, deadline: float = DEADLINE) -> None:
        """Stop intake, let queued work finish until the deadline, then cancel the rest: every
        phase bounded (app.shutdown), so the stop ends within systemd's TimeoutStopSec."""
        # What start() froze is this run's again: an App started and stopped in a process
        # that goes on (the tests) leaves nothing the collector cannot reach.
        gc.unfreeze()
        await stop_parts(self, deadline)
        log.info("responder stopped")

    def reload(self, config: Config, settings: Settings | None = None) -> bool:
        """Swap in new rules, calendar, templates and guard settings, all or nothing, in one
        step on the loop (app.reload): whether the new settings were taken.

        `settings` are `config`'s, built beforehand off the loop (app.lifecycle does, as
        rendering every template is CPU work); without them they are built here, blocking.
        """
        return swap_in(self, config, settings)

    @property
    def timers(self) -> list[Timers]:
        """The timer services, which the stop stops before the outbox drains."""
        return [t for t in (self.sla, self.surveys, self.closing) if t is not None]

    def _settings(self, first: Settings) -> Settings:
        """The settings in force: a reload's, once the dispatcher runs with them."""
        return self.dispatcher.settings if self.dispatcher is not None else first

    def _channel_restarted(self, name: str) -> None:
        if self.outbox is not None:
            self.outbox.reconfigured(name)  # replies waiting on it: try them now

    def _tokens_for(self, channel: EmailChannelConfig) -> TokenSource | None:
        """An OAuth2 channel's access tokens, from the sign-in `responder login` saved."""
        return token_source(channel, self.config.state_dir)

    def health(self) -> dict[str, str]:
        return self.gate.states({name: c.state for name, c in self.channels.items()})

    def channel_health(self) -> dict[str, ChannelHealth]:
        """Each channel's health, its problem naming the config file and key."""
        return self.gate.health(located_health(self.channels, self.config))

    async def check_channels(self) -> None:
        """Raise NoChannelWorks if every channel has failed for a reason only the admin can
        fix; called once start-up has settled. Restarting would not help."""
        await require_one_working(self.channel_health(), self.watch)
