"""The email channel: IMAP intake and SMTP sending for one support address."""

from __future__ import annotations

import asyncio
import logging

from responder.channels.base import Inbox
from responder.channels.imap import ImapIntake
from responder.channels.smtp import SmtpSender
from responder.config import EmailChannelConfig
from responder.models import OutboundReply
from responder.tasks import TaskGroup

log = logging.getLogger(__name__)

SMTP_CONNECTIONS = 2


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
        self._intake: ImapIntake | None = None
        self._task: asyncio.Task[None] | None = None

    @property
    def state(self) -> str:
        return self._intake.state if self._intake is not None else "stopped"

    def lane(self, reply: OutboundReply) -> str:
        return "smtp"

    async def start(self, inbox: Inbox) -> None:
        self._intake = ImapIntake(self.name, self.config.imap, inbox)
        self._task = self._tasks.spawn(self._intake.run(), name=f"imap:{self.name}")

    async def send(self, reply: OutboundReply) -> None:
        sender = await self._senders.get()
        try:
            await sender.send(reply.envelope_from, reply.recipients, reply.message)
        finally:
            self._senders.put_nowait(sender)

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)
            self._task = None
        # Connections are closed, not taken away: a send during the shutdown drain opens a
        # fresh one, and the composition root stops the channel again after the drain.
        for sender in self._pool:
            await sender.close()
