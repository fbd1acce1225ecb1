"""The composition root: builds every part from the config, starts them in order, stops them
in reverse."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from datetime import datetime

from responder.channels.base import Channel
from responder.channels.registry import build_channel
from responder.config import Config, library_limits
from responder.dispatch import ACKNOWLEDGEMENT, ChannelProfile, Dispatcher, ReplyCap, render_context
from responder.errors import ConfigError
from responder.guards import GuardContext
from responder.inbox import StoreInbox
from responder.outbox import Outbox, RetryPolicy
from responder.storage.store import Store, utcnow
from responder.tasks import TaskGroup
from responder.templates import Templates

log = logging.getLogger(__name__)

TEMPLATE_NAMES = (ACKNOWLEDGEMENT,)


def channel_profiles(config: Config) -> dict[str, ChannelProfile]:
    profiles = {}
    for channel in config.channels:
        own = frozenset({channel.address, *channel.aliases})
        profiles[channel.name] = ChannelProfile(
            name=channel.name,
            address=channel.address,
            display_name=channel.display_name,
            language=channel.language,
            envelope_from=channel.smtp.envelope_from or "",
            guard=GuardContext(
                own_addresses=own,
                own_domains=frozenset(a.rpartition("@")[2] for a in own),
            ),
        )
    return profiles


def load_templates(config: Config) -> Templates:
    """Templates, rendered once against a sample so a typo stops the start, not a reply."""
    templates = Templates(config.templates_dir)
    for profile in channel_profiles(config).values():
        templates.require(TEMPLATE_NAMES, render_context(profile, None, "ABC234", "Sample"))
    return templates


def preflight(config: Config) -> Templates:
    """Everything `responder check` verifies, before anything connects."""
    problems = library_limits(config)
    if problems:
        raise ConfigError(problems)
    return load_templates(config)


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
        self._retry = retry or RetryPolicy(
            base=config.delivery.retry_base,
            cap=config.delivery.retry_cap,
            max_attempts=config.delivery.max_attempts,
        )
        self.tasks = TaskGroup()
        self.store = Store(config.database_url_resolved, clock)
        self.channels: dict[str, Channel] = {}
        self.dispatcher: Dispatcher | None = None
        self.outbox: Outbox | None = None

    async def start(self) -> None:
        templates = preflight(self.config)
        await self.store.open()
        self.channels = {c.name: build_channel(c, self.tasks) for c in self.config.channels}
        self.outbox = Outbox(self.store, self.channels, self.tasks, self._clock, self._retry)
        cap = self.config.guards.reply_cap
        self.dispatcher = Dispatcher(
            self.store,
            templates,
            channel_profiles(self.config),
            ReplyCap(cap.max_replies, cap.window),
            self.outbox.submit,
            self._clock,
            queue_size=self.config.queue_size,
        )
        self.outbox.start()
        self.tasks.spawn(self.dispatcher.run(), name="dispatch")
        # Resume what the last run left in flight, before new mail arrives.
        unsent = await self.outbox.resume()
        pending = await self.store.pending_inbound()
        if unsent or pending:
            log.info("resuming: %d messages to decide, %d replies to send", len(pending), unsent)
        self.tasks.spawn(self._requeue(pending), name="resume")
        inbox = StoreInbox(self.store, self.dispatcher.queue)
        for channel in self.channels.values():
            await channel.start(inbox)
        log.info("responder started with %d channel(s)", len(self.channels))

    async def _requeue(self, pending: list[int]) -> None:
        assert self.dispatcher is not None
        for inbound_id in pending:
            await self.dispatcher.queue.put(inbound_id)

    async def stop(self, deadline: float = 10.0) -> None:
        """Stop intake, let queued work finish until the deadline, then cancel the rest."""
        await self._stop_channels()
        if self.dispatcher is not None:
            try:
                await asyncio.wait_for(self.dispatcher.queue.join(), deadline / 2)
            except TimeoutError:
                log.warning(
                    "stopping with %d messages undecided; they resume at next start",
                    self.dispatcher.queue.qsize(),
                )
        if self.outbox is not None and not await self.outbox.drain(deadline / 2):
            log.warning("stopping with replies unsent; they resume at next start")
        # Again: stop() is idempotent, and this closes connections the drain opened.
        await self._stop_channels()
        await self.tasks.cancel_all()
        await self.store.close()
        log.info("responder stopped")

    async def _stop_channels(self) -> None:
        for channel in reversed(list(self.channels.values())):
            try:
                await channel.stop()
            except Exception:
                log.exception("channel %s did not stop cleanly", channel.name)

    def health(self) -> dict[str, str]:
        return {name: channel.state for name, channel in self.channels.items()}
