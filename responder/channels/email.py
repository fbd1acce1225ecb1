"""The email channel: IMAP intake and SMTP sending for one support address."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable
from typing import TYPE_CHECKING

from responder.channels.base import ChannelHealth, Inbox
from responder.channels.diagnose import Endpoint, Service
from responder.channels.health import Condition, utcnow, worst
from responder.channels.imap import ImapIntake
from responder.channels.imap_session import ImapSession
from responder.channels.imap_watch import DoneFolderWatch
from responder.channels.smtp import SmtpSender
from responder.channels.smtp import probe as smtp_probe
from responder.config import EmailChannelConfig
from responder.errors import ChannelDown, SignInRefused
from responder.models import OutboundReply
from responder.tasks import TaskGroup

if TYPE_CHECKING:
    from responder.oauth import TokensFor

log = logging.getLogger(__name__)

SMTP_CONNECTIONS = 2


class EmailChannel:
    def __init__(
        self, config: EmailChannelConfig, tasks: TaskGroup, tokens_for: TokensFor | None = None
    ) -> None:
        self.name = config.name
        self.config = config
        self._tasks = tasks
        # auth: oauth2: the composition root says where access tokens come from.
        self._tokens_for = tokens_for
        self._tokens = tokens_for(config) if tokens_for is not None else None
        self._pool, self._senders = self._smtp_pool()
        self.lanes = {"smtp": SMTP_CONNECTIONS}
        self._watchers: list[ImapSession] = []
        self._watching: list[asyncio.Task[None]] = []
        self._inbox: Inbox | None = None
        self._stopped = utcnow()
        # The sending side counts as fine until a send or probe says otherwise.
        self._smtp = Condition(self._endpoint("smtp"), state="connected")

    def _smtp_pool(self) -> tuple[list[SmtpSender], asyncio.Queue[SmtpSender]]:
        """A small pool: while one connection waits for the server's answer, another sends."""
        pool = [
            SmtpSender(self.config.name, self.config.smtp, self._tokens)
            for _ in range(SMTP_CONNECTIONS)
        ]
        senders: asyncio.Queue[SmtpSender] = asyncio.Queue()
        for sender in pool:
            senders.put_nowait(sender)
        return pool, senders

    def _endpoint(self, service: Service) -> Endpoint:
        cfg = self.config.imap if service == "imap" else self.config.smtp
        account = cfg.username or ""
        return Endpoint(
            self.name, service, cfg.host, cfg.port, account, service, self.config.provider
        )

    @property
    def health(self) -> ChannelHealth:
        """The worst of its IMAP watchers (the main folder first) and its SMTP side; a
        watched Sent or Done folder failing alone leaves the channel working (partial)."""
        if not self._watching:
            return ChannelHealth("stopped", self._stopped)
        parts = [(w.condition, n > 0) for n, w in enumerate(self._watchers)]
        return worst([*parts, (self._smtp, False)])

    @property
    def state(self) -> str:
        return self.health.state

    def lane(self, reply: OutboundReply) -> str:
        return "smtp"

    async def start(self, inbox: Inbox) -> None:
        self._inbox = inbox
        imap = self.config.imap
        # One connection per folder: IDLE watches the selected folder only (RFC 2177).
        self._watchers = [ImapIntake(self.name, imap, inbox)]
        if imap.sent_folder:
            # Staff replies sent from their own mail client (issue 5), delivered as mail.
            self._watchers.append(ImapIntake(self.name, imap, inbox, folder=imap.sent_folder))
        if imap.done_folder:
            self._watchers.append(DoneFolderWatch(self.name, imap, inbox, imap.done_folder))
        for watcher in self._watchers:
            # The provider picks the remedy for a refused password (Gmail: an app password).
            watcher.condition.at = self._endpoint("imap")
            watcher.tokens = self._tokens
        self._watching = [
            self._tasks.spawn(w.run(), name=f"imap:{self.name}:{w.folder}") for w in self._watchers
        ]

    async def send(self, reply: OutboundReply) -> None:
        if isinstance(self._smtp.cause, SignInRefused):
            # Until the probe (every few minutes) or a reload says the sign-in works again,
            # a reply does not try the refused password once more: providers lock accounts
            # that fail to sign in too often.
            raise SignInRefused(f"SMTP sign-in refused earlier: {self._smtp.cause}")
        senders = self._senders  # a reconfigure may swap the pool meanwhile
        sender = await senders.get()
        try:
            await self._watched(sender.send(reply.envelope_from, reply.recipients, reply.message))
        finally:
            senders.put_nowait(sender)

    async def probe(self) -> None:
        """Whether the SMTP server takes mail again (the outbox asks while it is down); on a
        connection of its own, so a probe never waits behind a send."""
        await self._watched(smtp_probe(self.config.smtp, self._tokens))

    async def _watched(self, attempt: Awaitable[None]) -> None:
        """Run a send or probe; what it says of the server is the SMTP side's health (a
        refusal naming one recipient says nothing of it)."""
        try:
            await attempt
        except ChannelDown as exc:
            self._smtp.failed(exc)
            raise
        self._smtp.connected()

    async def reconfigure(self, config: EmailChannelConfig) -> None:
        """New settings (a fixed password file, another server), without a restart."""
        await self._stop_watching()
        old = self._pool
        self.config = config
        self._tokens = self._tokens_for(config) if self._tokens_for is not None else None
        self._pool, self._senders = self._smtp_pool()
        self._smtp = Condition(self._endpoint("smtp"), state="connected")
        for sender in old:
            await sender.close()  # waits for a send in flight on it
        if self._inbox is not None:
            await self.start(self._inbox)

    async def _stop_watching(self) -> None:
        watching, self._watching = self._watching, []
        if watching:
            self._stopped = utcnow()
        for task in watching:
            task.cancel()
        await asyncio.gather(*watching, return_exceptions=True)

    async def stop(self) -> None:
        await self._stop_watching()
        # Connections are closed, not taken away: a send during the shutdown drain opens a
        # fresh one, and the composition root stops the channel again after the drain.
        for sender in self._pool:
            await sender.close()
