"""The email channel: IMAP intake and SMTP sending for one support address."""

from __future__ import annotations

import asyncio
import logging

from responder.channels.base import Inbox
from responder.channels.imap import ImapIntake
from responder.channels.imap_session import ImapSession
from responder.channels.imap_watch import DoneFolderWatch
from responder.channels.smtp import SmtpSender
from responder.channels.smtp import probe as smtp_probe
from responder.config import EmailChannelConfig
from responder.models import OutboundReply
from responder.tasks import TaskGroup

log = logging.getLogger(__name__)

SMTP_CONNECTIONS = 2
# Health words from worst to best: the channel reports its worst watcher.
_STATES = ("failed", "reconnecting", "starting", "connected")


class EmailChannel:
    def __init__(self, config: EmailChannelConfig, tasks: TaskGroup) -> None:
        self.name = config.name
        self.config = config
        self._tasks = tasks
        # A small pool: while one connection waits for the server's answer, another sends.
        self._pool = [SmtpSender(config.name, config.smtp) for _ in range(SMTP_CONNECTIONS)]
        self._senders: asyncio.Queue[SmtpSender] = asyncio.Queue()
        for sender in self._pool:
            self._senders.put_nowait(sender)
        self.lanes = {"smtp": SMTP_CONNECTIONS}
        self._watchers: list[ImapSession] = []
        self._watching: list[asyncio.Task[None]] = []

    @property
    def state(self) -> str:
        if not self._watchers:
            return "stopped"
        states = {w.state for w in self._watchers}
        return min(states, key=lambda s: _STATES.index(s) if s in _STATES else -1)

    def lane(self, reply: OutboundReply) -> str:
        return "smtp"

    async def start(self, inbox: Inbox) -> None:
        imap = self.config.imap
        # One connection per folder: IDLE watches the selected folder only (RFC 2177).
        self._watchers = [ImapIntake(self.name, imap, inbox)]
        if imap.sent_folder:
            # Staff replies sent from their own mail client (issue 5), delivered as mail.
            self._watchers.append(ImapIntake(self.name, imap, inbox, folder=imap.sent_folder))
        if imap.done_folder:
            self._watchers.append(DoneFolderWatch(self.name, imap, inbox, imap.done_folder))
        self._watching = [
            self._tasks.spawn(w.run(), name=f"imap:{self.name}:{w.folder}") for w in self._watchers
        ]

    async def send(self, reply: OutboundReply) -> None:
        sender = await self._senders.get()
        try:
            await sender.send(reply.envelope_from, reply.recipients, reply.message)
        finally:
            self._senders.put_nowait(sender)

    async def probe(self) -> None:
        """Whether the SMTP server takes mail again (the outbox asks while it is down); on a
        connection of its own, so a probe never waits behind a send."""
        await smtp_probe(self.config.smtp)

    async def stop(self) -> None:
        watching, self._watching = self._watching, []
        for task in watching:
            task.cancel()
        await asyncio.gather(*watching, return_exceptions=True)
        # Connections are closed, not taken away: a send during the shutdown drain opens a
        # fresh one, and the composition root stops the channel again after the drain.
        for sender in self._pool:
            await sender.close()
