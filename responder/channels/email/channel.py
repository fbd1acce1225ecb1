"""The email channel: IMAP intake and SMTP sending for one support address."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable
from typing import TYPE_CHECKING

from responder.channels import health
from responder.channels.base import ChannelHealth, FetchFile, Inbox
from responder.channels.diagnose import Endpoint, Service
from responder.channels.email.imap import ImapIntake
from responder.channels.email.imap_session import ImapSession
from responder.channels.email.imap_watch import DoneFolderWatch
from responder.channels.email.sign_in_gate import SignInGate
from responder.channels.email.smtp import SmtpSender
from responder.channels.email.smtp import probe as smtp_probe
from responder.channels.health import Condition, utcnow, worst
from responder.common.retry import backoff
from responder.common.tasks import TaskGroup, cancel
from responder.config import EmailChannelConfig, SmtpConfig
from responder.core.canned import CANNED
from responder.domain.models import OutboundReply
from responder.errors import ChannelDown, ChannelError, PermanentError, SignInRefused
from responder.wire.email.attachments import EMAIL_FILE, filled, wanted

if TYPE_CHECKING:
    from responder.channels.oauth import TokensFor
    from responder.channels.oauth.tokens import TokenSource

log = logging.getLogger(__name__)

SMTP_CONNECTIONS = 2


class EmailChannel:
    def __init__(
        self,
        config: EmailChannelConfig,
        tasks: TaskGroup,
        tokens_for: TokensFor | None = None,
        files: FetchFile | None = None,
    ) -> None:
        self.name = config.name
        self._files = files  # a canned answer's files (issue 18), read as each reply goes
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
        # The sending side is "starting" until the sign-in start() makes answers.
        self._smtp = Condition(self._endpoint("smtp"))
        self._checking: asyncio.Task[None] | None = None

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
            self.name,
            service,
            cfg.host,
            cfg.port,
            account,
            service,
            self.config.provider,
            secret=self.config.password_key("imap" if service == "imap" else "smtp"),
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
        gate = SignInGate()  # one sign-in for all of them while the password is refused
        for watcher in self._watchers:
            # The provider picks the remedy for a refused password (Gmail: an app password).
            watcher.condition.at = self._endpoint("imap")
            watcher.tokens = self._tokens
            watcher.gate = gate
        self._watching = [
            self._tasks.spawn(w.run(), name=f"imap:{self.name}:{w.folder}") for w in self._watchers
        ]
        check = self._check_smtp(self._smtp, self.config.smtp, self._tokens)
        self._checking = self._tasks.spawn(check, name=f"smtp:{self.name}:check")

    async def send(self, reply: OutboundReply) -> None:
        raw = await self._filled(reply.message)  # before a connection is taken from the pool
        while True:
            # The pool and the condition of these settings: a reconfigure may swap both
            # meanwhile, and what the old pool's password meets says nothing of the new one.
            smtp, senders = self._smtp, self._senders
            if isinstance(smtp.cause, SignInRefused):
                # Until the probe (every few minutes) or a reload says the sign-in works
                # again, a reply does not try the refused password once more: providers lock
                # accounts that fail to sign in too often.
                raise SignInRefused(f"SMTP sign-in refused earlier: {smtp.cause}")
            sender = await senders.get()
            if senders is self._senders:
                break
            senders.put_nowait(sender)  # new settings came while it waited: send with them
        try:
            message = sender.send(reply.envelope_from, reply.recipients, raw)
            await self._watched(smtp, message)
        except SignInRefused as exc:
            if senders is self._senders:
                raise
            # The settings it was refused with are gone: the server is asked again at the
            # outbox's quick pace, not at the slow one of a password known to be wrong.
            raise ChannelDown(f"refused with the settings replaced since: {exc}") from exc
        finally:
            senders.put_nowait(sender)

    async def _filled(self, message: bytes) -> bytes:
        """The reply with its canned files read in (from disk, off the event loop, by the
        composition root's fetcher), only now that it goes: a queue of them holds no bytes."""
        refs = wanted(message)
        if not refs:
            return message
        if self._files is None:
            raise PermanentError("no file fetcher: the reply's files cannot be read")
        files = {ref: (await self._files(CANNED, ref, EMAIL_FILE)).content for ref in refs}
        return await asyncio.to_thread(filled, message, files)

    async def probe(self) -> None:
        """Whether the SMTP server takes mail again (the outbox asks while it is down); on a
        connection of its own, so a probe never waits behind a send."""
        await self._watched(self._smtp, smtp_probe(self.config.smtp, self._tokens))

    @staticmethod
    async def _watched(smtp: Condition, attempt: Awaitable[None]) -> None:
        """Run a send or probe; what it says of the server is the health `smtp` of the
        settings it ran with (a refusal naming one recipient says nothing of it)."""
        try:
            await attempt
        except ChannelDown as exc:
            smtp.failed(exc)
            raise
        smtp.connected()

    async def _check_smtp(
        self, smtp: Condition, cfg: SmtpConfig, tokens: TokenSource | None
    ) -> None:
        """Sign in to the SMTP server at start, as probe() does, so a refused password shows
        now and not at the first reply. A server out of reach is asked again (with backoff)
        until it answers; a refused sign-in is not: while replies wait, the outbox's probe
        tries it every few minutes, and a reload at once."""
        attempt = 0
        while smtp.state != "connected" and not isinstance(smtp.cause, SignInRefused):
            try:
                await smtp_probe(cfg, tokens)
            except Exception as exc:
                if not isinstance(exc, ChannelError | OSError):
                    log.exception("channel %s: unexpected error probing SMTP", self.name)
                problem = smtp.failed(exc)
                if isinstance(exc, SignInRefused):
                    return  # the composition root's ChannelWatch says it, with the remedy
                attempt += 1
                delay = health.SLOW_RETRY if problem.permanent else backoff(attempt, 1.0, 60.0)
                # Said once; the health (status, /healthz) shows it until the server answers.
                level = logging.WARNING if attempt == 1 else logging.DEBUG
                log.log(level, "channel %s: %s; trying again in %.1fs", self.name, problem, delay)
                await asyncio.sleep(delay)
            else:
                smtp.connected()
                if attempt:
                    log.info("channel %s: the SMTP server answers again", self.name)

    async def reconfigure(self, config: EmailChannelConfig) -> None:
        """New settings (a fixed password file, another server), without a restart."""
        await self._stop_watching()
        old = self._pool
        self.config = config
        self._tokens = self._tokens_for(config) if self._tokens_for is not None else None
        self._pool, self._senders = self._smtp_pool()
        # A send still running on the old pool reports to the old condition (send()).
        self._smtp = Condition(self._endpoint("smtp"))
        for sender in old:
            await sender.close()  # waits for a send in flight on it
        if self._inbox is not None:
            await self.start(self._inbox)

    async def _stop_watching(self) -> None:
        watching, self._watching = self._watching, []
        if watching:
            self._stopped = utcnow()
        if self._checking is not None:
            watching.append(self._checking)
            self._checking = None
        await cancel(watching)

    async def pause(self) -> None:
        """Intake stops (another instance holds the mailbox's lease, issue 19); SMTP stays."""
        self._inbox = None
        await self._stop_watching()

    async def stop(self) -> None:
        await self._stop_watching()
        # Connections are closed, not taken away: a send during the shutdown drain opens a
        # fresh one, and the composition root stops the channel again after the drain.
        for sender in self._pool:
            await sender.close()
